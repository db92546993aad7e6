"""The queries behind what members look at: positions, the leaderboard, market lists and search."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from app.domain.ledger import AccountKind
from app.domain.market import Market, MarketStatus
from app.persistence.session import Session
from app.persistence.sql import market_from_row
from app.services.rows import PositionRow
from models.schema import accounts, markets, positions

_UNSETTLED = (MarketStatus.OPEN.value, MarketStatus.CLOSED.value)


class SqlReads:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def open_positions(self, account_id: int, limit: int) -> list[PositionRow]:
        query = (
            sa.select(
                markets,
                positions.c.outcome.label("position_outcome"),
                positions.c.shares.label("position_shares"),
                positions.c.paid_in.label("position_paid_in"),
                positions.c.taken_out.label("position_taken_out"),
            )
            .join(markets, markets.c.id == positions.c.market_id)
            .where(positions.c.account_id == account_id, markets.c.status.in_(_UNSETTLED))
            .order_by(markets.c.number, positions.c.outcome)
            .limit(limit)
        )
        rows = (await self._session.conn.execute(query)).mappings().all()
        return [
            PositionRow(
                market=market_from_row(row),
                outcome=int(row["position_outcome"]),
                shares=int(row["position_shares"]),
                paid_in=int(row["position_paid_in"]),
                taken_out=int(row["position_taken_out"]),
            )
            for row in rows
        ]

    async def top_balances(self, guild_id: int, limit: int) -> list[tuple[int, int]]:
        query = (
            sa.select(accounts.c.user_id, accounts.c.balance)
            .where(accounts.c.guild_id == guild_id, accounts.c.kind == AccountKind.MEMBER.value)
            .order_by(accounts.c.balance.desc(), accounts.c.id)
            .limit(limit)
        )
        return [(int(user_id), int(balance)) for user_id, balance in await self._session.conn.execute(query)]

    async def markets(self, guild_id: int, status: MarketStatus | None, limit: int) -> list[Market]:
        query = sa.select(markets).where(markets.c.guild_id == guild_id)
        if status is not None:
            query = query.where(markets.c.status == status.value)
        query = query.order_by(markets.c.number.desc()).limit(limit)
        return [market_from_row(row) for row in (await self._session.conn.execute(query)).mappings()]

    async def search_markets(
        self, guild_id: int, number: int | None, words: Sequence[str], statuses: Sequence[MarketStatus], limit: int
    ) -> list[tuple[int, str]]:
        query = sa.select(markets.c.number, markets.c.question).where(
            markets.c.guild_id == guild_id, markets.c.status.in_([s.value for s in statuses])
        )
        conditions = []
        if number is not None:
            conditions.append(markets.c.number == number)
        if words:
            question = sa.func.lower(markets.c.question)
            conditions.append(sa.and_(*(question.contains(word, autoescape=True) for word in words)))
        if conditions:
            query = query.where(sa.or_(*conditions))
        if number is not None:
            query = query.order_by((markets.c.number == number).desc(), markets.c.number.desc())
        else:
            query = query.order_by(markets.c.number.desc())
        rows = await self._session.conn.execute(query.limit(limit))
        return [(int(n), str(q)) for n, q in rows]
