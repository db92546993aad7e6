"""What `/readyz` checks: the database (fail), Redis (warn: the limiter falls back and lets trades through),
the migrations being at head (fail), Discord's REST API through its breaker (warn: interactions never call
it), and the worker's lag (warn past `LAG_WARN_SECONDS`). Each check has `TIMEOUT` seconds; a check that
cannot run because the database is down is left out (the database's check says why)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.health import Check, Status
from app.persistence.database import Database
from app.persistence.migrations import current_revision, head_revision

TIMEOUT = 1.0
LAG_WARN_SECONDS = 60.0


async def _timed(check: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = await asyncio.wait_for(check(), timeout=TIMEOUT)
    return round((time.perf_counter() - started) * 1000, 2), value


async def database_check(database: Database) -> Check:
    try:
        elapsed, _ = await _timed(database.ping)
    except Exception as exc:  # readiness reports, it never raises
        return Check("database:responseTime", "fail", "datastore", output=type(exc).__name__)
    return Check("database:responseTime", "pass", "datastore", elapsed, "ms")


async def redis_check(rate_limiter: Any) -> Check | None:
    ping = getattr(rate_limiter, "ping", None)
    if ping is None:  # no Redis configured: the limits are held in the database or in memory
        return None
    try:
        elapsed, _ = await _timed(ping)
    except Exception as exc:
        return Check("redis:responseTime", "warn", "datastore", output=type(exc).__name__)
    return Check("redis:responseTime", "pass", "datastore", elapsed, "ms")


@functools.cache
def _head() -> str | None:
    return head_revision()


async def migrations_check(database: Database) -> Check:
    try:
        head = await asyncio.to_thread(_head)
        _, current = await _timed(lambda: current_revision(database))
    except Exception as exc:
        return Check("migrations:revision", "fail", "datastore", output=type(exc).__name__)
    if current != head:
        return Check("migrations:revision", "fail", "datastore", current, output=f"not at head ({head})")
    return Check("migrations:revision", "pass", "datastore", current)


def breaker_check(state: str) -> Check:
    status: Status = "pass" if state in ("closed", "unused") else "warn"
    return Check("discord-api:breaker", status, "component", state)


async def lag_check(database: Database, clock: Callable[[], datetime]) -> Check:
    from app.persistence.unit_of_work import UnitOfWork

    async def lag() -> float:
        async with UnitOfWork(database, clock) as uow:
            oldest = (await uow.queue.backlog()).oldest_pending_at
            return max(0.0, (uow.now - oldest).total_seconds()) if oldest is not None else 0.0

    try:
        _, seconds = await _timed(lag)
    except Exception as exc:
        return Check("worker:lag", "warn", "component", output=type(exc).__name__)
    return Check("worker:lag", "warn" if seconds > LAG_WARN_SECONDS else "pass", "component", round(seconds, 3), "s")


async def checks(
    database: Database, rate_limiter: Any, breaker_state: str, clock: Callable[[], datetime]
) -> list[Check]:
    db, redis = await asyncio.gather(database_check(database), redis_check(rate_limiter))
    found = [db] + ([redis] if redis is not None else []) + [breaker_check(breaker_state)]
    if db.status == "pass":
        found[1:1] = await asyncio.gather(migrations_check(database), lag_check(database, clock))
    return found
