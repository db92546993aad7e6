"""`SqlRateLimiter` keeps the contract across instances on Postgres and SQLite (also when the engine's default
isolation is REPEATABLE READ), deletes expired rows as it goes, and makes its engine on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.ratelimit import Limit, build_rate_limiter
from tests.ratelimit.conftest import Backend, at, only
from tests.ratelimit.test_base import RateLimiterContract, SharedStoreContract, check_hits_in_flight_together


@only("postgres", "sqlite")
class TestSqlRateLimiter(RateLimiterContract, SharedStoreContract):
    pass


@only("postgres-repeatable-read")
class TestSqlRateLimiterOnARepeatableReadEngine:
    """Each hit is one autocommitted statement, exact whatever the engine's default isolation."""

    test_concurrent_hits_at_one_instant_admit_exactly_the_limit = (
        RateLimiterContract.test_concurrent_hits_at_one_instant_admit_exactly_the_limit
    )


@only("postgres", "sqlite")
async def test_sql_deletes_expired_rows_as_it_goes(backend: Backend) -> None:
    from sqlalchemy import func, select

    from app.ratelimit.sql import rate_limit_hits

    limiter = await backend.limiter()
    engine = backend.engines[0]

    async def rows(key: str) -> int:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(rate_limit_hits).where(rate_limit_hits.c.key == key)
            return int((await conn.execute(query)).scalar_one())

    limit = Limit(hits=2, window_seconds=10)
    await limiter.hit("k", limit, now=at(0))
    await limiter.hit("k", limit, now=at(1))
    await limiter.hit("other", limit, now=at(0))
    assert await rows("k") == 2
    await limiter.hit("k", limit, now=at(10.5))  # t=0 expired and removed; this one recorded
    assert await rows("k") == 2
    await limiter.hit("k", limit, now=at(30))
    assert await rows("k") == 1
    assert await rows("other") == 1

    assert await limiter.purge_expired(now=at(9)) == 0
    assert await limiter.purge_expired(now=at(10)) == 1  # "other" (expired at 10); "k" at 30 stays
    assert await rows("other") == 0
    assert await rows("k") == 1
    await limiter.reset("k")
    assert await rows("k") == 0


async def test_sql_engine_factory_is_called_once_on_first_use(tmp_path: Path) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.ratelimit.sql import create_table

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'lazy.sqlite3'}")
    await create_table(engine)
    calls: list[int] = []

    def factory() -> Any:
        calls.append(1)
        return engine

    limiter = build_rate_limiter(None, factory)
    try:
        assert (await limiter.hit("k", Limit(1, 1), now=at(0))).allowed
        assert not (await limiter.hit("k", Limit(1, 1), now=at(0.5))).allowed
        assert calls == [1]
    finally:
        await engine.dispose()


@only("postgres")
async def test_hits_in_flight_together_share_one_statement_and_one_connection(backend: Backend) -> None:
    """Thirty hits at once from one process: one statement per batch on one pooled connection, not thirty, and
    each hit answered exactly as if alone, in arrival order (across keys: a refused hit records nothing on any
    key)."""
    from sqlalchemy import event

    limiter = await backend.limiter()
    checkouts: list[int] = []
    event.listen(limiter.engine.sync_engine, "checkout", lambda *_: checkouts.append(1))

    def one_per_batch() -> None:
        assert len(checkouts) <= 2  # the first hit alone, then the 29 that queued behind it: one per batch

    await check_hits_in_flight_together(limiter, one_per_batch)


@only("postgres")
async def test_a_database_not_yet_migrated_to_batches_gets_each_hit_alone(backend: Backend) -> None:
    """The code is deployed before its migration runs: until 0010 is applied, each hit goes on its own."""
    import asyncio

    from sqlalchemy import text

    limiter = await backend.limiter()
    async with limiter.engine.begin() as conn:
        await conn.execute(text("DROP FUNCTION hunch_rate_limit_hit_batch(int[], text[], bigint[], int[], bigint[])"))
    limit = Limit(hits=3, window_seconds=60)
    decisions = await asyncio.gather(*(limiter.hit_all([("k", limit), (f"m:{i}", limit)], now=at(0)) for i in range(5)))
    assert [d.allowed for d in decisions] == [True] * 3 + [False] * 2
    assert {d.retry_at for d in decisions[3:]} == {at(60)}


@only("postgres")
async def test_a_batch_that_cannot_get_its_keys_gives_up_in_time(backend: Backend, monkeypatch: Any) -> None:
    """Every check of the process waits on the batch in flight: it is bounded, and the line goes on after."""
    import asyncio

    from sqlalchemy import text

    monkeypatch.setattr("app.ratelimit.sql.CHECK_TIMEOUT_SECONDS", 0.3)
    limiter = await backend.limiter()
    limit = Limit(hits=5, window_seconds=60)
    assert (await limiter.hit("g", limit, now=at(0))).allowed  # the key's row exists
    blocker = backend.engines[0]
    async with blocker.connect() as conn, conn.begin():
        await conn.execute(text("SELECT 1 FROM rate_limit_keys WHERE key = 'g' FOR UPDATE"))
        results = await asyncio.gather(*(limiter.hit("g", limit, now=at(1)) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(r, TimeoutError) for r in results), results
    assert (await limiter.hit("g", limit, now=at(2))).allowed


@only("postgres")
async def test_batches_from_two_processes_taking_the_same_keys_in_opposite_orders_do_not_deadlock(
    backend: Backend,
) -> None:
    """Each batch takes all its keys first, in one order, whatever order its hits arrived in."""
    import asyncio

    first, second = await backend.limiter(), await backend.limiter()
    limit = Limit(hits=1000, window_seconds=60)
    keys = ["a", "B", "c", "D", "e"]  # cases differ: byte order is not every collation's order

    async def burst(limiter: Any, order: list[str], rounds: int = 20) -> list[Any]:
        decisions = []
        for _ in range(rounds):
            decisions += await asyncio.gather(*(limiter.hit(key, limit, now=at(0)) for key in order))
        return decisions

    done = await asyncio.gather(burst(first, keys), burst(second, keys[::-1]))
    assert all(d.allowed for run in done for d in run)
