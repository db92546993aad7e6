"""Forecasting records: each member's result in each resolved market (`market_results`) and the record they
sum to (`member_records`), written as sets when a market resolves; the reads behind `/stats` and the
leaderboards by profit and by accuracy, each an index look-up."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from app.domain import limits
from app.domain.market import MarketStatus
from app.domain.records import ForecastRecord, qualified_brier
from app.persistence.session import Session
from app.services.rows import Holding
from models.schema import market_results, markets, member_records, positions, trades

_p = sa.bindparam
_RESULT = ("market_id", "account_id", "guild_id", "user_id", "paid_in", "taken_out", "payout", "brier")
_RECORD = (
    "account_id",
    "guild_id",
    "user_id",
    "resolved",
    "won",
    "staked",
    "profit",
    "brier_total",
    "scored",
    "qualified_brier",
)
_holder = (
    sa.select(positions.c.account_id)
    .where(positions.c.market_id == _p("last_market_id", type_=sa.BigInteger()))
    .distinct()
    .subquery("holder")
)
# One backward step of the index by market and account per holder: as cheap whatever the number of trades
# per holder, and no plan that hashes or sorts every trade of the market (which the planner picks on stale
# statistics, right after a burst of trades, and which spills to disk at 100,000 holders).
_LAST_TRADES = sa.select(
    _holder.c.account_id,
    sa.select(trades.c.prices_after)
    .where(
        trades.c.market_id == _p("last_market_id", type_=sa.BigInteger()), trades.c.account_id == _holder.c.account_id
    )
    .order_by(trades.c.id.desc())
    .limit(1)
    .scalar_subquery(),
)
_TRADED = sa.select(sa.func.count(sa.distinct(positions.c.market_id))).where(
    positions.c.account_id == _p("traded_account_id")
)
_RECORD_ROW = sa.select(
    member_records.c.resolved,
    member_records.c.won,
    member_records.c.staked,
    member_records.c.profit,
    member_records.c.brier_total,
    member_records.c.scored,
).where(member_records.c.account_id == _p("record_account_id"))


def _ranked(brier_total: Any, scored: Any) -> Any:
    """`qualified_brier` in SQL: the mean in millionths once the minimum of markets is reached."""
    return sa.case((scored >= limits.ACCURACY_MIN_MARKETS, brier_total // sa.func.nullif(scored, 0)), else_=None)


def _accumulate(insert: Any) -> Any:
    """A record insert that adds to the record the member already has."""
    r, new = member_records.c, insert.excluded
    total, scored = r.brier_total + new.brier_total, r.scored + new.scored
    return insert.on_conflict_do_update(
        index_elements=[r.account_id],
        set_={
            "resolved": r.resolved + new.resolved,
            "won": r.won + new.won,
            "staked": r.staked + new.staked,
            "profit": r.profit + new.profit,
            "brier_total": total,
            "scored": scored,
            "qualified_brier": _ranked(total, scored),
        },
    )


_HELD = ("account_id", "user_id", "paid_in", "taken_out", "payout", "brier")  # what a settlement sends per holder


def _holders(dialect: str) -> sa.Select[Any]:
    """The market's results as `market_results` rows, from the values sent per holder: arrays on Postgres (as
    the ledger sends payouts), a JSON list of rows on SQLite."""
    market_id = _p("results_market_id", type_=sa.BigInteger())
    guild_id = _p("results_guild_id", type_=sa.BigInteger())
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        held = {name: sa.func.unnest(_p(f"results_{name}", type_=ARRAY(sa.BigInteger()))) for name in _HELD}
        return sa.select(market_id, held["account_id"], guild_id, *(held[name] for name in _HELD[1:]))
    rows = sa.func.json_each(_p("results_rows", type_=sa.Text())).table_valued("value")
    column = {name: sa.func.json_extract(rows.c.value, f"$[{i}]") for i, name in enumerate(_HELD)}
    return sa.select(market_id, column["account_id"], guild_id, *(column[name] for name in _HELD[1:]))


def _records_from(results: Any) -> Any:
    """The record rows that `results` (rows shaped like `market_results`) add. Not sorted: the holdings come in
    account order, and so do the rows inserted from them (a sort of 100,000 rows spilled to disk)."""
    profit = results.c.payout + results.c.taken_out - results.c.paid_in
    total = sa.func.coalesce(results.c.brier, 0)
    scored = sa.case((results.c.brier.is_(None), 0), else_=1)
    return sa.select(
        results.c.account_id,
        results.c.guild_id,
        results.c.user_id,
        sa.literal(1),
        sa.case((profit > 0, 1), else_=0),
        results.c.paid_in,
        profit,
        total,
        scored,
        _ranked(total, scored),
    )


def _settle_statements(dialect: str) -> tuple[Any, ...]:
    """Postgres: one statement, the results inserted and their rows added to the records through RETURNING.
    SQLite: the results inserted, then the market's results added to the records."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        inserted = (
            insert(market_results)
            .from_select(list(_RESULT), _holders(dialect))
            .returning(*(market_results.c[name] for name in _RESULT))
            .cte("settled_results")
        )
        return (_accumulate(insert(member_records).from_select(list(_RECORD), _records_from(inserted))),)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    written = (
        sa.select(market_results)
        .where(market_results.c.market_id == _p("results_market_id", type_=sa.BigInteger()))
        .subquery("written")
    )
    return (
        sa.insert(market_results).from_select(list(_RESULT), _holders(dialect)),
        # SQLite reads `INSERT … SELECT … ON CONFLICT` only when the SELECT has a WHERE.
        _accumulate(sqlite_insert(member_records).from_select(list(_RECORD), _records_from(written).where(sa.true()))),
    )


_SETTLE: dict[str, tuple[Any, ...]] = {}


def _unsettle() -> sa.Update:
    r, out = member_records.c, market_results.c
    was_scored = sa.case((out.brier.is_(None), 0), else_=1)
    total, scored = r.brier_total - sa.func.coalesce(out.brier, 0), r.scored - was_scored
    return (
        sa.update(member_records)
        .where(out.market_id == _p("unsettle_market_id"), out.account_id == r.account_id)
        .values(
            resolved=r.resolved - 1,
            won=r.won - sa.case((out.payout + out.taken_out > out.paid_in, 1), else_=0),
            staked=r.staked - out.paid_in,
            profit=r.profit - (out.payout + out.taken_out - out.paid_in),
            brier_total=total,
            scored=scored,
            qualified_brier=_ranked(total, scored),
        )
    )


_UNSETTLE = _unsettle()
_FORGET = sa.delete(market_results).where(market_results.c.market_id == _p("unsettle_market_id"))


class SqlScores:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def last_prices(self, market_id: int) -> dict[int, tuple[str, ...]]:
        rows = await self._session.conn.execute(_LAST_TRADES, {"last_market_id": market_id})
        return {int(account_id): tuple(str(p) for p in prices) for account_id, prices in rows if prices}

    def settle(
        self,
        guild_id: int,
        market_id: int,
        holdings: Sequence[Holding],
        payouts: Mapping[int, int],
        scores: Mapping[int, int],
    ) -> None:
        dialect = self._session.dialect
        statements = _SETTLE.get(dialect)
        if statements is None:
            statements = _SETTLE[dialect] = _settle_statements(dialect)
        ids = [h.account_id for h in holdings]
        held = {
            "account_id": ids,
            "user_id": [h.user_id for h in holdings],
            "paid_in": [h.paid_in for h in holdings],
            "taken_out": [h.taken_out for h in holdings],
            "payout": [payouts.get(account_id, 0) for account_id in ids],
            "brier": [scores.get(account_id) for account_id in ids],
        }
        params: dict[str, Any] = {"results_market_id": market_id, "results_guild_id": guild_id}
        if dialect == "postgresql":
            params.update({f"results_{name}": values for name, values in held.items()})
        else:
            params["results_rows"] = json.dumps(list(zip(*(held[name] for name in _HELD), strict=True)))
        for statement in statements:
            self._session.writes.statement(statement, params)

    async def unsettle(self, market_id: int) -> None:
        conn, params = self._session.conn, {"unsettle_market_id": market_id}
        await conn.execute(_UNSETTLE, params)
        await conn.execute(_FORGET, params)

    async def record(self, account_id: int) -> ForecastRecord:
        conn = self._session.conn
        traded = int(await conn.scalar(_TRADED, {"traded_account_id": account_id}) or 0)
        row = (await conn.execute(_RECORD_ROW, {"record_account_id": account_id})).first()
        if row is None:
            return ForecastRecord(traded, 0, 0, 0, 0, 0, 0)
        return ForecastRecord(traded, *(int(value) for value in row))

    async def drifted_records(self) -> list[int]:
        r, m = market_results.c, member_records.c
        won = sa.case((r.payout + r.taken_out > r.paid_in, 1), else_=0)
        sums = sa.select(
            r.account_id,
            sa.func.count(),
            sa.func.sum(won),
            sa.func.sum(r.paid_in),
            sa.func.sum(r.payout + r.taken_out - r.paid_in),
            sa.func.sum(sa.func.coalesce(r.brier, 0)),
            sa.func.count(r.brier),
        ).group_by(r.account_id)
        kept = sa.select(
            m.account_id, m.resolved, m.won, m.staked, m.profit, m.brier_total, m.scored, m.qualified_brier
        )
        conn = self._session.conn
        expected = {int(row[0]): tuple(int(v) for v in row[1:]) for row in await conn.execute(sums)}
        drifted = []
        for account_id, *values, ranked in await conn.execute(kept):
            found = tuple(int(v) for v in values)
            if found != expected.pop(int(account_id), (0,) * 6) or ranked != qualified_brier(found[4], found[5]):
                drifted.append(int(account_id))
        return sorted(drifted + list(expected))

    async def stray_results(self) -> list[int]:
        query = (
            sa.select(market_results.c.market_id)
            .distinct()
            .join(markets, markets.c.id == market_results.c.market_id)
            .where(markets.c.status != MarketStatus.RESOLVED.value)
        )
        return sorted(int(m) for (m,) in await self._session.conn.execute(query))

    async def top_profit(self, guild_id: int, limit: int) -> list[tuple[int, int]]:
        query = (
            sa.select(member_records.c.user_id, member_records.c.profit)
            .where(member_records.c.guild_id == guild_id)
            .order_by(member_records.c.profit.desc(), member_records.c.account_id)
            .limit(limit)
        )
        return [(int(u), int(p)) for u, p in await self._session.conn.execute(query)]

    async def top_accuracy(self, guild_id: int, limit: int) -> list[tuple[int, int, int]]:
        r = member_records.c
        query = (
            sa.select(r.user_id, r.brier_total, r.scored)
            .where(r.guild_id == guild_id, r.qualified_brier.is_not(None))
            .order_by(r.qualified_brier, r.account_id)
            .limit(limit)
        )
        return [(int(u), int(t), int(s)) for u, t, s in await self._session.conn.execute(query)]
