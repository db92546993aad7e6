"""Price history on the real databases (`app/persistence/price_history.py`): a bucket keeps its latest point,
and a chart of a market with 100,000 trades reads a bounded number of rows off the primary key."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.domain.price_history import MAX_POINTS, BucketPoint, ChartPeriod, PricePoint, bucket_of
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import charts, event_log
from app.services.consumers.price_history import PriceHistory

GUILD = 900000000000000888
T0 = datetime(2026, 9, 1, tzinfo=UTC)
TRADES = 100_000


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def point(resolution: int, minutes: float, sequence: int, yes: float) -> BucketPoint:
    return BucketPoint(
        resolution, bucket_of(at(minutes), resolution), sequence, PricePoint(at(minutes), (yes, 1 - yes))
    )


async def run(database: Database, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    return await Transactions(database).run(work)


async def test_a_bucket_keeps_its_latest_point_and_reads_come_oldest_first(database: Database) -> None:
    async def keep(points: list[BucketPoint]) -> None:
        async def work(uow: UnitOfWork) -> None:
            await uow.price_history.keep(42, points)
            await uow.commit()

        await run(database, work)

    await keep([point(60, 0.5, 2, 0.55), point(60, 1.5, 3, 0.60), point(60, 5.2, 6, 0.70), point(300, 0.5, 2, 0.55)])
    await keep([point(60, 1.7, 5, 0.65), point(60, 0.2, 1, 0.10)])  # a later point, and an older one come late

    async def read(uow: UnitOfWork) -> Any:
        return (
            await uow.price_history.read(42, 60, at(1), at(10), 10),
            await uow.price_history.read(42, 60, at(0), at(10), 2),
            await uow.price_history.read(42, 60, at(20), at(30), 10),
            await uow.price_history.read(43, 60, at(0), at(30), 10),
        )

    (before, within), (_, latest_two), (after_all, none), nothing = await run(database, read)
    assert yes(before) == (at(0.5), 0.55)
    assert [yes(p) for p in within] == [(at(1.7), 0.65), (at(5.2), 0.70)]
    assert [p.at for p in latest_two] == [at(1.7), at(5.2)]
    assert yes(after_all) == (at(5.2), 0.70) and none == []
    assert nothing == (None, [])


def yes(p: PricePoint | None) -> tuple[datetime, float] | None:
    return (p.at, p.probabilities[0]) if p is not None else None


def yes_after(i: int) -> float:
    """The seeded market's probability of Yes after its trade i (as the SQL below computes it)."""
    return 0.5 + 0.4 * math.sin(i / 500.0)


SEED = [
    f"""INSERT INTO guilds (id, starting_balance, daily_bonus, default_liquidity, default_duration_seconds, max_stake,
          currency_name, next_market_number, created_at)
        VALUES ({GUILD}, 1000, 100, 1000, 604800, 100000, 'points', 2, :t0)""",
    f"""INSERT INTO markets (guild_id, number, question, description, outcomes, shares, liquidity, status, creator_id,
          volume, trade_count, closes_at, created_at)
        VALUES ({GUILD}, 1, 'Busy?', '', '["Yes", "No"]'::json, '[0, 0]'::json, 1000, 'open', 7, {TRADES},
          {TRADES}, CAST(:t0 AS timestamptz) + interval '365 days', :t0)""",
    # One trade a minute for 100,000 minutes (about 69 days), each with its trade.executed event.
    f"""INSERT INTO events (id, guild_id, type, version, aggregate_type, aggregate_id, sequence, occurred_at, actor_id,
          payload)
        SELECT lpad(i::text, 36, '0'), {GUILD}, 'trade.executed', 1, 'market', m.id, i + 1,
          CAST(:t0 AS timestamptz) + i * interval '1 minute', 7,
          json_build_object('number', 1, 'user_id', 7, 'side', 'buy', 'outcome', 0, 'points', 1, 'shares', 1,
            'probabilities', json_build_array((0.5 + 0.4 * sin(i / 500.0))::text, (0.5 - 0.4 * sin(i / 500.0))::text),
            'volume', i, 'trade_count', i)
        FROM markets m, generate_series(1, {TRADES}) i WHERE m.guild_id = {GUILD}""",
    "ANALYZE",
]


@pytest.fixture
async def busy(pg_database: Database) -> Database:
    async def seed(uow: UnitOfWork) -> None:
        for statement in SEED:
            await uow.conn.execute(sa.text(statement), {"t0": T0} if ":t0" in statement else {})
        await uow.commit()

    await run(pg_database, seed)
    started = time.perf_counter()
    replayed = await event_log.replay(Transactions(pg_database), [PriceHistory(Transactions(pg_database))])
    assert replayed == TRADES, f"replayed {replayed} in {time.perf_counter() - started:.1f} s"
    return pg_database


async def test_a_chart_of_100000_trades_reads_a_bounded_number_of_rows_off_the_primary_key(busy: Database) -> None:
    now = at(TRADES + 30)
    sent: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "price_points" in statement:
            sent.append((statement, parameters))

    for period in ChartPeriod:
        event.listen(busy.engine.sync_engine, "before_cursor_execute", capture)
        try:
            chart = await Transactions(busy, lambda: now).run(
                lambda uow, period=period: charts.price_chart(uow, GUILD, 1, period)
            )
        finally:
            event.remove(busy.engine.sync_engine, "before_cursor_execute", capture)
        assert 2 <= len(chart.points) <= MAX_POINTS + 2, period
        assert chart.points[-1].at == now
        # Each point is the price after the last trade of its bucket, as the trades set it.
        for p in chart.points[1:-1]:
            trade = round((p.at - T0).total_seconds() / 60)
            assert p.probabilities[0] == pytest.approx(yes_after(trade), abs=1e-12)
            last_of_bucket = bucket_of(p.at + timedelta(minutes=1), chart.resolution) != bucket_of(
                p.at, chart.resolution
            )
            assert last_of_bucket or trade == TRADES

    assert len(sent) == 2 * len(ChartPeriod)  # the bucket before the chart, and its buckets: per chart

    async def plans(uow: UnitOfWork) -> list[str]:
        await uow.conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        found = []
        for statement, parameters in sent:
            rows = await uow.conn.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters)
            found.append("\n".join(row[0] for row in rows))
        return found

    for plan in await run(busy, plans):
        assert plan.lstrip().startswith("Limit"), plan
        assert "Index Scan Backward using price_points_pkey" in plan, plan
        assert "Sort" not in plan and "Seq Scan" not in plan, plan
        returned = int(plan.split("rows=")[2].split()[0])  # the Limit node's actual rows
        assert returned <= MAX_POINTS, plan


async def test_the_busy_market_keeps_one_row_per_bucket_with_trades(busy: Database) -> None:
    async def counts(uow: UnitOfWork) -> dict[int, int]:
        rows = await uow.conn.execute(sa.text("SELECT resolution, count(*) FROM price_points GROUP BY resolution"))
        return {int(r): int(n) for r, n in rows}

    assert await run(busy, counts) == {
        60: TRADES,
        300: TRADES // 5 + 1,
        1800: TRADES // 30 + 1,
        3600: TRADES // 60 + 1,
        21600: TRADES // 360 + 1,
        86400: TRADES // 1440 + 1,
    }
