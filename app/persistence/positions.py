"""Positions: what each member holds of each outcome of a market, and what they paid in and took out."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from app.persistence.session import Session
from app.services.rows import Holding
from models.schema import accounts, markets, positions

_HOLDINGS = (
    sa.select(
        positions.c.account_id,
        accounts.c.user_id,
        positions.c.outcome,
        positions.c.shares,
        positions.c.paid_in,
        positions.c.taken_out,
    )
    .join(accounts, accounts.c.id == positions.c.account_id)
    .where(positions.c.market_id == sa.bindparam("holdings_market_id"))
    .order_by(positions.c.account_id)
)
_OUTCOMES = sa.select(markets.c.outcomes).where(markets.c.id == sa.bindparam("holdings_market_id"))


class SqlPositions:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def holder_count(self, market_id: int) -> int:
        query = sa.select(sa.func.count(sa.distinct(positions.c.account_id))).where(positions.c.market_id == market_id)
        return int(await self._session.conn.scalar(query) or 0)

    async def holdings(self, market_id: int) -> list[Holding]:
        conn = self._session.conn
        params = {"holdings_market_id": market_id}
        n = len(await conn.scalar(_OUTCOMES, params) or ())
        shares: dict[int, list[int]] = defaultdict(lambda: [0] * n)
        users: dict[int, int] = {}
        flows: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for account_id, user_id, outcome, held, paid_in, taken_out in await conn.execute(_HOLDINGS, params):
            users[account_id] = user_id
            shares[account_id][outcome] += held
            flow = flows[account_id]
            flow[0] += paid_in
            flow[1] += taken_out
        return [
            Holding(account_id, users[account_id], tuple(shares[account_id]), *flows[account_id])
            for account_id in users
        ]
