"""SQL-backed sliding-window limiter: one row per recorded hit in ``rate_limit_hits``.

Postgres: hits go in batches. The hits a process is asked for while one batch is in flight go together in the
next, as one statement, ``SELECT hunch_rate_limit_hit_batch(...)`` in autocommit (migration 0010), committed
asynchronously: it locks every key's counter row in ``rate_limit_keys`` (in one order) for the length of that
statement and its commit only (no wait for the disk), then applies the hits in arrival order, each exactly as
a lone hit (``hunch_rate_limit_hit``, migration 0005): it drops the key's expired hits and records the hit on
every key or on none. Nothing is held across round trips, a busy server takes its key once per batch rather
than once per hit, and a process uses one connection for its hits however many are in flight (so a busy
process does not overflow its pool). Safe behind PgBouncer / RDS Proxy.

SQLite: the transaction's first statement is a DELETE, which takes SQLite's write lock before the
count is read, so writers are serialised (other connections wait out the busy timeout).

Expired rows of the key being hit are deleted as it goes; rows of keys that are never hit again are
removed by ``purge_expired`` (called opportunistically, or from a scheduled job).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Dialect, Table, delete, insert, select, text

from app.ratelimit.base import ALLOWED, CHECK_TIMEOUT_SECONDS, Decision, Limit, from_ms, latest, now_ms, refused
from app.services.batching import BatchLines
from models.schema import rate_limit_hits, rate_limit_keys

logger = logging.getLogger(__name__)

_PURGE_BATCH = 1000
# The hit commits without waiting for its WAL flush (`synchronous_commit` off for this transaction only): the
# key's counter row is locked until the commit, and waiting out an fsync there would queue every trade of a
# server on it. A crash can forget the last moments' hits (a member may trade a little more after a restart);
# it can never corrupt the counts, and no money is involved (Redis, the other backend, does not fsync either).
# Sent on the driver's connection as it is (asyncpg outside a transaction: autocommit, no BEGIN): the ORM's
# per-call work (execution options, compiling, result objects) cost more CPU than the statement's round trip.
_HIT_BATCH = (
    "SELECT hunch_rate_limit_hit_batch($1::int[], $2::text[], $3::bigint[], $4::int[], $5::bigint[]),"
    " set_config('synchronous_commit', 'off', true)"
)
# A database not migrated to 0010 yet (the code is deployed before the migration runs): each hit on its own.
_HIT = (
    "SELECT hunch_rate_limit_hit($1::text[], $2::bigint[], $3::int[], $4::bigint),"
    " set_config('synchronous_commit', 'off', true)"
)
_UNDEFINED_FUNCTION = "42883"
MAX_BATCH = 64
_PURGE = text("SELECT hunch_rate_limit_purge(:now, :batch)")


class SqlEngine(Protocol):
    """What the limiter uses of an engine: `app.persistence.engine.Engine`, or SQLAlchemy's `AsyncEngine`."""

    @property
    def dialect(self) -> Dialect: ...

    def connect(self) -> Any: ...

    def begin(self) -> Any: ...


async def create_table(engine: SqlEngine, table: Table = rate_limit_hits) -> None:
    """Create the table if missing. For tests and local tools only; production uses Alembic."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: table.create(sync_conn, checkfirst=True))


class SqlRateLimiter:
    """``engine`` may be an engine or a zero-argument factory returning one; a factory is
    called on first use (so building the limiter costs nothing at cold start).

    ``purge_probability`` is the chance that a ``hit`` is followed by one ``purge_expired`` batch.
    """

    def __init__(
        self,
        engine: SqlEngine | Callable[[], SqlEngine],
        *,
        table: Table = rate_limit_hits,
        purge_probability: float = 0.01,
    ) -> None:
        if callable(engine):
            self._engine: SqlEngine | None = None
            self._engine_factory: Callable[[], SqlEngine] | None = engine
        else:
            _check_dialect(engine)
            self._engine = engine
            self._engine_factory = None
        self._table = table
        self._purge_probability = purge_probability
        self._batches = BatchLines(MAX_BATCH)

    @property
    def engine(self) -> SqlEngine:
        if self._engine is None:
            assert self._engine_factory is not None
            engine = self._engine_factory()
            _check_dialect(engine)
            self._engine = engine
        return self._engine

    async def hit(self, key: str, limit: Limit, *, now: datetime | None = None) -> Decision:
        return await self.hit_all([(key, limit)], now=now)

    async def hit_all(self, checks: Sequence[tuple[str, Limit]], *, now: datetime | None = None) -> Decision:
        at = now_ms(now)
        if self.engine.dialect.name == "postgresql":
            decision = await self._hit_postgres(checks, at)
        else:
            decision = await self._hit_sqlite(checks, at)
        if self._purge_probability > 0 and random.random() < self._purge_probability:
            try:
                await self.purge_expired(now=now)
            except Exception:  # housekeeping must never fail the hit it rode along with
                logger.warning("rate-limit purge failed", exc_info=True)
        return decision

    async def _hit_postgres(self, checks: Sequence[tuple[str, Limit]], at: int) -> Decision:
        if not checks:
            return ALLOWED
        # One lock order for every caller, and each key once (the strictest limit asked for it).
        strictest: dict[str, Limit] = {}
        for key, limit in checks:
            if key not in strictest or (limit.hits, -limit.window_ms) < (
                strictest[key].hits,
                -strictest[key].window_ms,
            ):
                strictest[key] = limit
        ordered = sorted(strictest.items())
        return await self._batches.submit("hits", (ordered, at), self._apply_batch)  # type: ignore[no-any-return]

    async def _apply_batch(self, hits: list[tuple[list[tuple[str, Limit]], int]]) -> list[Decision]:
        """Send a batch of hits (each its sorted checks and its instant) as one statement; each hit's answer."""
        numbers, keys, windows, limits, instants = [], [], [], [], []
        for number, (checks, at) in enumerate(hits):
            for key, limit in checks:
                numbers.append(number)
                keys.append(key)
                windows.append(limit.window_ms)
                limits.append(limit.hits)
                instants.append(at)
        # Bounded: every check of the process waits on this batch (past the bound the throttle lets them through).
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), self.engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            try:
                try:
                    answers = await driver.fetchval(_HIT_BATCH, numbers, keys, windows, limits, instants)
                except Exception as error:
                    if getattr(error, "sqlstate", None) != _UNDEFINED_FUNCTION:
                        raise
                    answers = [await self._hit_alone(driver, checks, at) for checks, at in hits]
            except BaseException:
                await conn.invalidate()  # the pool cannot tell what state a failed driver call left it in
                raise
        return [
            ALLOWED if retry_at is None else Decision(allowed=False, retry_at=from_ms(int(retry_at)))
            for retry_at in answers
        ]

    async def _hit_alone(self, driver: Any, checks: list[tuple[str, Limit]], at: int) -> int | None:
        keys, windows, limits = [k for k, _ in checks], [x.window_ms for _, x in checks], [x.hits for _, x in checks]
        retry_at: int | None = await driver.fetchval(_HIT, keys, windows, limits, at)
        return retry_at

    async def _hit_sqlite(self, checks: Sequence[tuple[str, Limit]], at: int) -> Decision:
        t = self._table
        async with self._transaction() as conn:
            refusals = []
            # Keys locked in one order, so two callers with overlapping keys cannot deadlock.
            for key, limit in sorted(checks, key=lambda check: check[0]):
                # On SQLite this DELETE is also what takes the write lock, before anything is read.
                await conn.execute(delete(t).where(t.c.key == key, t.c.hit_at_ms <= at - limit.window_ms))
                stamps = (
                    (await conn.execute(select(t.c.hit_at_ms).where(t.c.key == key).order_by(t.c.hit_at_ms)))
                    .scalars()
                    .all()
                )
                if len(stamps) >= limit.hits:
                    refusals.append(refused(stamps[len(stamps) - limit.hits], limit))
            if refusals:
                return latest(refusals)
            for key, limit in checks:
                await conn.execute(insert(t).values(key=key, hit_at_ms=at, expires_at_ms=at + limit.window_ms))
            return ALLOWED

    async def reset(self, key: str) -> None:
        async with self._transaction() as conn:
            if conn.dialect.name == "postgresql":  # the counter row first: it is the key's lock
                await conn.execute(delete(rate_limit_keys).where(rate_limit_keys.c.key == key))
            await conn.execute(delete(self._table).where(self._table.c.key == key))

    async def purge_expired(self, *, now: datetime | None = None, batch: int = _PURGE_BATCH) -> int:
        """Delete up to ``batch`` rows, of any key, whose hit has left the window it was recorded
        with; returns how many. On Postgres rows a concurrent ``hit`` has locked are skipped, so a
        purge never waits on a hit and cannot deadlock with one."""
        t = self._table
        async with self._transaction() as conn:
            if conn.dialect.name == "postgresql":
                return int(await conn.scalar(_PURGE, {"now": now_ms(now), "batch": batch}) or 0)
            doomed = select(t.c.id).where(t.c.expires_at_ms <= now_ms(now)).limit(batch)
            result = await conn.execute(delete(t).where(t.c.id.in_(doomed.scalar_subquery())))
        return int(result.rowcount)

    async def aclose(self) -> None:
        """The engine belongs to the caller; nothing to release here."""

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        """A connection in a transaction; READ COMMITTED on Postgres, so each statement sees the rows committed
        before it whatever the engine's default isolation level is."""
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execution_options(isolation_level="READ COMMITTED")
            async with conn.begin():
                yield conn


def _check_dialect(engine: SqlEngine) -> None:
    if engine.dialect.name not in ("postgresql", "sqlite"):
        raise ValueError(f"SqlRateLimiter supports Postgres and SQLite, not {engine.dialect.name!r}")
