"""Rate-limiter backends for the tests: the `backend` fixture (parametrized by backend name, usually through
`only(...)`) hands out limiters over one store, and `at(seconds)` is a moment on a fixed clock.

Redis uses the server at TEST_REDIS_URL (default redis://127.0.0.1:6379/0) with a unique key prefix
per test, and is skipped when unreachable. Postgres runs only when TEST_DATABASE_URL is set, each
test in its own schema. SQLite always runs, in a temporary file. Separate limiter instances over one
store stand in for separate processes / Lambda instances.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.ratelimit import MemoryRateLimiter, RedisRateLimiter
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
    from app.persistence.engine import create_engine
    from app.ratelimit.sql import SqlRateLimiter, create_table

    raw_engines: list[Any] = []

    def new_engine() -> Any:
        kwargs: dict[str, Any] = {"pool_size": 3, "max_overflow": 0} if name.startswith("postgres") else {}
        if schema is not None:  # the migrated schema: its tables and the limiter's functions
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        engine = create_engine(url, **kwargs, **engine_options)  # the production engine's class
        raw_engines.append(engine)
        return engine

    backend = Backend(name, lambda: _ready(SqlRateLimiter(new_engine(), purge_probability=0)))
    first = new_engine()
    backend.engines.append(first)
    if schema is None:
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

        from app.persistence.migrations import upgrade_connection

        schema = f"rl_test_{uuid.uuid4().hex[:16]}"
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.execute(text(f'SET search_path TO "{schema}"'))
            await conn.run_sync(upgrade_connection)
        try:
            # An engine whose default isolation is REPEATABLE READ must still be exact.
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
