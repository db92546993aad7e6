"""Markets: the rows holding each market's question, outcomes and market-maker state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.ledger import TransferReason
from app.domain.limits import REFUND_REMINDER
from app.domain.market import Market, MarketStatus
from app.persistence.accounts import SqlAccounts
from app.persistence.session import Session
from app.persistence.sql import market_from_row
from app.services.rows import NewMarket
from models.schema import guilds, markets, transfers

_BY_NUMBER = sa.select(markets).where(
    markets.c.guild_id == sa.bindparam("market_guild_id"), markets.c.number == sa.bindparam("market_number")
)
_BY_NUMBER_LOCKED = _BY_NUMBER.with_for_update()
SETTLEMENT_REASONS = tuple(
    r.value
    for r in (TransferReason.PAYOUT, TransferReason.REFUND, TransferReason.HOUSE_RETURN, TransferReason.UNRESOLVE)
)
_pool = sa.bindparam("settled_pool_id", type_=sa.BigInteger())
_from_pool = transfers.c.debit_account_id == _pool
_counterparty = sa.case((_from_pool, transfers.c.credit_account_id), else_=transfers.c.debit_account_id)
_net = sa.func.sum(sa.case((_from_pool, transfers.c.amount), else_=-transfers.c.amount))
# Read off the partial index of settlement transfers, whatever the number of trades.
_SETTLED = (
    sa.select(_counterparty, _net)
    .where(transfers.c.market_id == sa.bindparam("settled_market_id"), transfers.c.reason.in_(SETTLEMENT_REASONS))
    .group_by(_counterparty)
    .having(_net != 0)
)


_DUE = {
    # A closed market's refund is due (`offset` seconds early) in a server that refunds closed markets at all.
    "postgresql": "markets.closed_at + (guilds.auto_refund_after_seconds - :{offset}) * interval '1 second' <= :{now}",
    "sqlite": "julianday(markets.closed_at) + (guilds.auto_refund_after_seconds - :{offset}) / 86400.0"
    " <= julianday(:{now})",
}


def _refund_due(dialect: str, now: datetime, offset: int) -> sa.ColumnElement[bool]:
    names = {"now": f"due_now_{offset}", "offset": f"due_offset_{offset}"}
    due = sa.text(_DUE[dialect].format(**names)).bindparams(
        sa.bindparam(names["now"], now, type_=sa.DateTime(timezone=True)), sa.bindparam(names["offset"], offset)
    )
    return sa.and_(
        markets.c.status == MarketStatus.CLOSED.value,
        markets.c.closed_at.is_not(None),
        guilds.c.auto_refund_after_seconds > 0,
        due,
    )


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
        else:
            values.update(settled)
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

    async def settled(self, market: Market) -> dict[int, int]:
        params = {"settled_market_id": market.id, "settled_pool_id": market.pool_account_id}
        rows = await self._session.conn.execute(_SETTLED, params)
        return {int(account): int(net) for account, net in rows}

    async def reopen(self, market: Market, status: MarketStatus, now: datetime) -> Market:
        values: dict[str, Any] = {
            "status": status.value,
            "closed_at": now if status is MarketStatus.CLOSED else None,
            "settled_at": None,
            "settled_by": None,
            "resolution": sa.null(),
            "total_paid": None,
            "refund_reminded_at": None,
            "closed_to_settle": False,
        }
        return await self._update(market, values)

    async def subsidize(self, market: Market, liquidity: int, shift: tuple[int, ...]) -> Market:
        return await self._update(market, {"liquidity": liquidity, "maker_shift": list(shift)})

    async def _update(self, market: Market, values: dict[str, Any]) -> Market:
        query = sa.update(markets).where(markets.c.id == market.id).values(**values).returning(markets)
        return market_from_row((await self._session.conn.execute(query)).mappings().one())

    async def refunds_due(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        """Due as `refund_due_at` says: past the server's delay, and its creator told at least a day ago."""
        query = (
            sa.select(markets.c.guild_id, markets.c.number)
            .join(guilds, guilds.c.id == markets.c.guild_id)
            .where(
                _refund_due(self._session.dialect, now, 0),
                markets.c.refund_reminded_at.is_not(None),
                markets.c.refund_reminded_at <= now - REFUND_REMINDER,
            )
            .order_by(markets.c.closed_at)
            .limit(limit)
        )
        return [(int(g), int(n)) for g, n in await self._session.conn.execute(query)]

    async def remind_refunds(self, now: datetime, before: int, limit: int) -> list[Market]:
        """Mark the markets due within `before` seconds whose creator has not been told, those already due too
        (the setting lowered, or set long after they closed): none is refunded before it is marked."""
        dialect = self._session.dialect
        due = (
            sa.select(markets.c.id)
            .join(guilds, guilds.c.id == markets.c.guild_id)
            .where(_refund_due(dialect, now, before), markets.c.refund_reminded_at.is_(None))
            .order_by(markets.c.closed_at)
            .limit(limit)
        )
        if dialect == "postgresql":  # an overlapping pass reminds other markets rather than wait for these
            due = due.with_for_update(of=markets, skip_locked=True)
        # Checked again on the row itself: on READ COMMITTED a pass that waited for another's lock sees the row
        # as that pass left it, and must not remind its creator a second time.
        query = (
            sa.update(markets)
            .where(markets.c.id.in_(due), markets.c.refund_reminded_at.is_(None))
            .values(refund_reminded_at=now)
            .returning(markets)
        )
        return [market_from_row(row) for row in (await self._session.conn.execute(query)).mappings()]
