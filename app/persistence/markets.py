"""Markets: the rows holding each market's question, outcomes and market-maker state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.market import Market, MarketStatus
from app.persistence.accounts import SqlAccounts
from app.persistence.session import Session
from app.persistence.sql import market_from_row
from app.services.rows import NewMarket
from models.tables import guilds, markets

_BY_NUMBER = sa.select(markets).where(
    markets.c.guild_id == sa.bindparam("market_guild_id"), markets.c.number == sa.bindparam("market_number")
)
_BY_NUMBER_LOCKED = _BY_NUMBER.with_for_update()


class SqlMarkets:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def get(self, guild_id: int, number: int, *, lock: bool = False) -> Market | None:
        query = _BY_NUMBER_LOCKED if lock else _BY_NUMBER
        params = {"market_guild_id": guild_id, "market_number": number}
        row = (await self._session.conn.execute(query, params)).mappings().first()
        return market_from_row(row) if row is not None else None

    async def add(self, new: NewMarket, now: datetime) -> Market:
        conn = self._session.conn
        market_id = await conn.scalar(
            sa.insert(markets)
            .values(
                guild_id=new.guild_id,
                number=new.number,
                question=new.question,
                description=new.description,
                outcomes=list(new.outcomes),
                shares=[0] * len(new.outcomes),
                liquidity=new.liquidity,
                status=MarketStatus.OPEN.value,
                creator_id=new.creator_id,
                channel_id=new.channel_id,
                volume=0,
                trade_count=0,
                closes_at=new.closes_at,
                created_at=now,
            )
            .returning(markets.c.id)
        )
        pool = await SqlAccounts(self._session).open_pool(new.guild_id, int(market_id))
        row = (
            (
                await conn.execute(
                    sa.update(markets).where(markets.c.id == market_id).values(pool_account_id=pool).returning(markets)
                )
            )
            .mappings()
            .one()
        )
        return market_from_row(row)

    async def set_status(self, market: Market, status: MarketStatus, now: datetime, **settled: Any) -> Market:
        values: dict[str, Any] = {"status": status.value, "closed_at": sa.func.coalesce(markets.c.closed_at, now)}
        if status.is_settled:
            values.update(settled_at=now, **settled)
        row = (
            (
                await self._session.conn.execute(
                    sa.update(markets).where(markets.c.id == market.id).values(**values).returning(markets)
                )
            )
            .mappings()
            .one()
        )
        return market_from_row(row)

    async def closing_soon(self, now: datetime, until: datetime) -> list[Market]:
        announcing = sa.select(guilds.c.id).where(guilds.c.announce_closing)
        rows = (
            (
                await self._session.conn.execute(
                    sa.update(markets)
                    .where(
                        markets.c.status == MarketStatus.OPEN.value,
                        markets.c.closes_at > now,
                        markets.c.closes_at <= until,
                        markets.c.closing_announced_at.is_(None),
                        markets.c.guild_id.in_(announcing),
                    )
                    .values(closing_announced_at=now)
                    .returning(markets)
                )
            )
            .mappings()
            .all()
        )
        return [market_from_row(row) for row in rows]

    async def close_expired(self, now: datetime) -> list[Market]:
        rows = (
            (
                await self._session.conn.execute(
                    sa.update(markets)
                    .where(markets.c.status == MarketStatus.OPEN.value, markets.c.closes_at <= now)
                    .values(status=MarketStatus.CLOSED.value, closed_at=now)
                    .returning(markets)
                )
            )
            .mappings()
            .all()
        )
        return [market_from_row(row) for row in rows]
