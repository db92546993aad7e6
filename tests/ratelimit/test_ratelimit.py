"""One behavioural suite run against every rate-limiter backend.

Redis uses the server at TEST_REDIS_URL (default redis://127.0.0.1:6379/0) with a unique key prefix
per test, and is skipped when unreachable. Postgres runs only when TEST_DATABASE_URL is set, each
test in its own schema. SQLite always runs, in a temporary file. Separate limiter instances over one
store stand in for separate processes / Lambda instances.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.ratelimit import (
    Decision,
    Limit,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
)
from app.settings import normalise_database_url

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = normalise_database_url(os.environ["TEST_DATABASE_URL"]) if os.environ.get("TEST_DATABASE_URL") else None

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


_redis_reachable: bool | None = None


async def require_redis() -> None:
    global _redis_reachable
    if _redis_reachable is None:
        import redis.asyncio
        import redis.exceptions

        client = redis.asyncio.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        try:
            _redis_reachable = bool(await client.ping())
        except (OSError, redis.exceptions.RedisError):
            _redis_reachable = False
        finally:
            await client.aclose()
    if not _redis_reachable:
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


@dataclass
class Backend:
    name: str
    # Each call is a separate client over the backend's one store (Memory hands out one instance).
    _make: Callable[[], Awaitable[Any]]
    engines: list[Any] = field(default_factory=list)

    async def limiter(self) -> Any:
        return await self._make()


async def _sql_backend(
    name: str, url: str, schema: str | None, **engine_options: Any
) -> tuple[Backend, Callable[[], Awaitable[None]]]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.ratelimit.sql import SqlRateLimiter, create_table

    raw_engines: list[Any] = []

    def new_engine() -> Any:
        kwargs: dict[str, Any] = {"pool_size": 3, "max_overflow": 0} if name.startswith("postgres") else {}
        engine = create_async_engine(url, **kwargs, **engine_options)
        raw_engines.append(engine)
        if schema is not None:
            return engine.execution_options(schema_translate_map={None: schema})
        return engine

    backend = Backend(name, lambda: _ready(SqlRateLimiter(new_engine(), purge_probability=0)))
    first = new_engine()
    backend.engines.append(first)
    await create_table(first)

    async def close() -> None:
        for engine in raw_engines:
            await engine.dispose()

    return backend, close


async def _ready(value: Any) -> Any:
    return value


@pytest_asyncio.fixture(params=["memory", "redis", "postgres", "sqlite"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    name: str = request.param
    if name == "memory":
        shared = MemoryRateLimiter()
        yield Backend(name, lambda: _ready(shared))
        return

    if name == "redis":
        await require_redis()
        import redis.asyncio

        prefix = f"hunch:test:rl:{uuid.uuid4().hex}:"
        made: list[RedisRateLimiter] = []

        async def make_redis() -> RedisRateLimiter:
            limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
            made.append(limiter)
            return limiter

        try:
            yield Backend(name, make_redis)
        finally:
            for limiter in made:
                await limiter.aclose()
            client = redis.asyncio.Redis.from_url(REDIS_URL)
            try:
                keys = [key async for key in client.scan_iter(match=prefix + "*")]
                if keys:
                    await client.delete(*keys)
            finally:
                await client.aclose()
        return

    if name in ("postgres", "postgres-repeatable-read"):
        if PG_URL is None:
            pytest.skip("TEST_DATABASE_URL not set")
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        schema = f"rl_test_{uuid.uuid4().hex[:16]}"
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            # An engine whose default isolation is REPEATABLE READ must still be exact: the limiter
            # forces READ COMMITTED so reads after the advisory lock see the previous holder's rows.
            options = {"isolation_level": "REPEATABLE READ"} if name == "postgres-repeatable-read" else {}
            sql_backend, close = await _sql_backend(name, PG_URL, schema, **options)
            try:
                yield sql_backend
            finally:
                await close()
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()
        return

    assert name == "sqlite"
    sql_backend, close = await _sql_backend(name, f"sqlite+aiosqlite:///{tmp_path / 'rl.sqlite3'}", None)
    try:
        yield sql_backend
    finally:
        await close()


def only(*names: str) -> pytest.MarkDecorator:
    """Run a test against just these backends."""
    return pytest.mark.parametrize("backend", names, indirect=True)


# --- behaviour every backend shares ---------------------------------------------------------------


async def test_allows_up_to_the_limit_within_the_window(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=3, window_seconds=10)
    for second in (0, 1, 2):
        assert await limiter.hit("member:1", limit, now=at(second)) == Decision(allowed=True, retry_at=None)


async def test_refuses_the_next_hit_until_the_oldest_expires(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=3, window_seconds=10)
    for second in (0, 1, 2):
        assert (await limiter.hit("member:1", limit, now=at(second))).allowed

    decision = await limiter.hit("member:1", limit, now=at(3))
    assert decision.allowed is False
    assert decision.retry_at == at(10)  # oldest hit (t=0) + window
    assert decision.retry_at is not None and decision.retry_at.utcoffset() == timedelta(0)


async def test_several_keys_at_once_are_hit_all_or_nothing(backend: Backend) -> None:
    """A member's limit and their guild's, checked together: a refusal by either records on neither,
    and says when both have room."""
    limiter = await backend.limiter()
    member, guild = Limit(hits=2, window_seconds=10), Limit(hits=3, window_seconds=20)
    checks = [("m:1", member), ("g:1", guild)]
    assert await limiter.hit_all(checks, now=at(0)) == Decision(True, None)
    assert (await limiter.hit_all(checks, now=at(1))).allowed
    assert await limiter.hit_all(checks, now=at(2)) == Decision(False, at(10))  # the member is full
    assert (await limiter.hit_all([("m:2", member), ("g:1", guild)], now=at(3))).allowed  # guild now full
    # Both full: room again when the later of the two frees up (the guild's oldest hit leaves at 20).
    assert await limiter.hit_all(checks, now=at(4)) == Decision(False, at(20))
    # Refused by the guild, the member's key recorded nothing: it has room at 10.
    assert await limiter.hit_all([("m:3", member), ("g:1", guild)], now=at(5)) == Decision(False, at(20))
    assert (await limiter.hit("m:3", member, now=at(5))).allowed
    assert (await limiter.hit("m:3", member, now=at(6))).allowed
    assert (await limiter.hit_all(checks, now=at(21))).allowed


async def test_a_refusal_records_nothing(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=2, window_seconds=10)
    assert (await limiter.hit("k", limit, now=at(0))).allowed
    assert (await limiter.hit("k", limit, now=at(1))).allowed
    for second in (2, 3, 4, 5, 6, 7, 8, 9):
        assert (await limiter.hit("k", limit, now=at(second))) == Decision(False, at(10))

    # Had any refusal been recorded the window would still be full here.
    assert (await limiter.hit("k", limit, now=at(10))).allowed
    assert await limiter.hit("k", limit, now=at(10.5)) == Decision(False, at(11))
    assert (await limiter.hit("k", limit, now=at(11))).allowed


async def test_the_window_slides(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=3, window_seconds=10)
    for second in (0, 4, 8):
        assert (await limiter.hit("k", limit, now=at(second))).allowed
    assert await limiter.hit("k", limit, now=at(9.999)) == Decision(False, at(10))
    # Exactly at retry_at the oldest hit has left the window (the window is (now - 10s, now]).
    assert (await limiter.hit("k", limit, now=at(10))).allowed
    assert await limiter.hit("k", limit, now=at(12)) == Decision(False, at(14))
    assert (await limiter.hit("k", limit, now=at(14))).allowed
    assert await limiter.hit("k", limit, now=at(14)) == Decision(False, at(18))
    # Long after, everything has expired.
    for second in (100, 100, 100):
        assert (await limiter.hit("k", limit, now=at(second))).allowed


async def test_keys_are_independent(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=1, window_seconds=60)
    assert (await limiter.hit("guild:1", limit, now=at(0))).allowed
    assert not (await limiter.hit("guild:1", limit, now=at(1))).allowed
    assert (await limiter.hit("guild:2", limit, now=at(1))).allowed
    assert (await limiter.hit("member:1", limit, now=at(1))).allowed
    assert not (await limiter.hit("guild:2", limit, now=at(2))).allowed


async def test_reset_forgets_only_that_key(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=1, window_seconds=60)
    assert (await limiter.hit("a", limit, now=at(0))).allowed
    assert (await limiter.hit("b", limit, now=at(0))).allowed
    await limiter.reset("a")
    await limiter.reset("never-used")
    assert (await limiter.hit("a", limit, now=at(1))).allowed
    assert not (await limiter.hit("b", limit, now=at(1))).allowed


async def test_hits_in_the_same_millisecond_each_count(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=3, window_seconds=1)
    for _ in range(3):
        assert (await limiter.hit("k", limit, now=at(0))).allowed
    assert await limiter.hit("k", limit, now=at(0)) == Decision(False, at(1))


async def test_fractional_windows(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=1, window_seconds=0.25)
    assert (await limiter.hit("k", limit, now=at(0))).allowed
    assert await limiter.hit("k", limit, now=at(0.2)) == Decision(False, at(0.25))
    assert (await limiter.hit("k", limit, now=at(0.25))).allowed


async def test_retry_at_accounts_for_a_lowered_limit(backend: Backend) -> None:
    # Three hits recorded under a looser limit; with hits=1 the newest of them must leave first.
    limiter = await backend.limiter()
    assert all([(await limiter.hit("k", Limit(3, 10), now=at(s))).allowed for s in (0, 1, 2)])
    assert await limiter.hit("k", Limit(1, 10), now=at(3)) == Decision(False, at(12))
    assert await limiter.hit("k", Limit(2, 10), now=at(3)) == Decision(False, at(11))


async def test_default_now_is_the_current_time(backend: Backend) -> None:
    limiter = await backend.limiter()
    limit = Limit(hits=1, window_seconds=30)
    before = datetime.now(UTC)
    assert (await limiter.hit("k", limit)).allowed
    decision = await limiter.hit("k", limit)
    after = datetime.now(UTC)
    assert not decision.allowed and decision.retry_at is not None
    window = timedelta(seconds=30)
    assert before + window - timedelta(milliseconds=1) <= decision.retry_at <= after + window


async def test_naive_times_are_refused(backend: Backend) -> None:
    limiter = await backend.limiter()
    with pytest.raises(ValueError, match="timezone-aware"):
        await limiter.hit("k", Limit(1, 1), now=datetime(2024, 1, 1))


@only("redis", "postgres", "sqlite")
async def test_instances_share_the_store(backend: Backend) -> None:
    first, second = await backend.limiter(), await backend.limiter()
    limit = Limit(hits=1, window_seconds=60)
    assert (await first.hit("k", limit, now=at(0))).allowed
    assert await second.hit("k", limit, now=at(1)) == Decision(False, at(60))
    await second.reset("k")
    assert (await first.hit("k", limit, now=at(2))).allowed


async def test_concurrent_hits_across_instances_admit_exactly_the_limit(backend: Backend) -> None:
    # Five client instances (five "processes"), fifty simultaneous hits, a limit of ten.
    limiters = [await backend.limiter() for _ in range(5)]
    limit = Limit(hits=10, window_seconds=60)
    decisions = await asyncio.gather(*(limiters[i % 5].hit("guild:1", limit) for i in range(50)))
    assert sum(d.allowed for d in decisions) == 10
    assert all(d.retry_at is not None for d in decisions if not d.allowed)
    assert not (await limiters[0].hit("guild:1", limit)).allowed


@pytest.mark.parametrize(
    "backend", ["memory", "redis", "postgres", "postgres-repeatable-read", "sqlite"], indirect=True
)
async def test_concurrent_hits_at_one_instant_admit_exactly_the_limit(backend: Backend) -> None:
    limiters = [await backend.limiter() for _ in range(5)]
    limit = Limit(hits=10, window_seconds=60)
    decisions = await asyncio.gather(*(limiters[i % 5].hit("k", limit, now=at(0)) for i in range(50)))
    assert sum(d.allowed for d in decisions) == 10
    assert {d.retry_at for d in decisions if not d.allowed} == {at(60)}


# --- backend specifics -----------------------------------------------------------------------------


@only("redis")
async def test_redis_key_expires_with_the_window(backend: Backend) -> None:
    import redis.asyncio

    limiter = await backend.limiter()
    await limiter.hit("k", Limit(hits=5, window_seconds=2))
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        full_key = limiter._prefix + "k"
        assert await client.zcard(full_key) == 1
        assert 0 < await client.pttl(full_key) <= 2000
    finally:
        await client.aclose()


def test_redis_client_follows_a_new_event_loop() -> None:
    # A Lambda adapter or test runner may run each invocation on a fresh loop; the limiter must not
    # reuse connections that belong to a closed one.
    async def reachable() -> bool:
        try:
            await require_redis()
        except pytest.skip.Exception:
            return False
        return True

    if not asyncio.run(reachable()):
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    limiter = RedisRateLimiter(REDIS_URL, prefix=f"hunch:test:rl:{uuid.uuid4().hex}:")
    limit = Limit(hits=1, window_seconds=5)
    assert asyncio.run(limiter.hit("k", limit, now=at(0))).allowed
    assert asyncio.run(limiter.hit("k", limit, now=at(1))) == Decision(False, at(5))

    async def finish() -> None:
        await limiter.reset("k")
        await limiter.aclose()

    asyncio.run(finish())


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


# --- construction and packaging --------------------------------------------------------------------


def test_limit_validation() -> None:
    for hits, window in [(0, 1), (-1, 1), (True, 1), (1.5, 1), (1, 0), (1, -1), (1, float("inf")), (1, float("nan"))]:
        with pytest.raises(ValueError):
            Limit(hits, window)  # type: ignore[arg-type]
    assert Limit(1, 0.0001).window_ms == 1
    assert Limit(5, 2.5).window_ms == 2500


def test_build_rate_limiter_picks_the_backend(tmp_path: Path) -> None:
    from app.ratelimit.sql import SqlRateLimiter

    calls: list[int] = []

    def engine_factory() -> Any:
        calls.append(1)
        from sqlalchemy.ext.asyncio import create_async_engine

        return create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")

    assert isinstance(build_rate_limiter("redis://127.0.0.1:6379/0", engine_factory), RedisRateLimiter)
    sql = build_rate_limiter(None, engine_factory)
    assert isinstance(sql, SqlRateLimiter)
    assert calls == []  # the engine is made on first use, not at build time
    assert isinstance(build_rate_limiter("", None), MemoryRateLimiter)
    assert isinstance(build_rate_limiter(None, None), MemoryRateLimiter)
    for limiter in (MemoryRateLimiter(), sql, RedisRateLimiter("redis://127.0.0.1:6379/0")):
        assert isinstance(limiter, RateLimiter)


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


def test_importing_the_package_imports_neither_redis_nor_sqlalchemy() -> None:
    code = (
        "import sys, app.ratelimit as rl\n"
        "rl.build_rate_limiter('redis://127.0.0.1:6379/0', None)\n"
        "rl.build_rate_limiter(None, None)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'sqlalchemy'))\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
