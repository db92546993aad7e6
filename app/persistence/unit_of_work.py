"""One unit of work per request: a single transaction, rolled back unless explicitly committed.

`run_transaction` retries serialization failures and deadlocks a bounded number of times, and turns a
connection lost mid-transaction into `Unavailable` (the transaction never committed, so nothing applied);
a connection lost during COMMIT is `OutcomeUnknown` (the server may have committed).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Select, func, literal_column, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter

from app import telemetry
from app.domain.errors import HunchError, OutcomeUnknown, Unavailable
from app.persistence.accounts import SqlAccounts
from app.persistence.books import SqlBooks
from app.persistence.database import Database
from app.persistence.driver import DriverConnection
from app.persistence.engine import Connection
from app.persistence.event_queue import SqlEventQueue
from app.persistence.failures import is_disconnect, is_retryable, retry_reason
from app.persistence.guilds import SqlGuilds
from app.persistence.ledger import SqlLedger
from app.persistence.markets import SqlMarkets
from app.persistence.messages import SqlMessages
from app.persistence.outbox import SqlEventLog
from app.persistence.positions import SqlPositions
from app.persistence.price_history import SqlPriceHistory
from app.persistence.reads import SqlReads
from app.persistence.records import SqlRecords
from app.persistence.scores import SqlScores
from app.persistence.seasons import SqlSeasons
from app.persistence.trades import SqlTrades
from app.persistence.writes import RowWrites, SetWrites, Write, Writes

T = TypeVar("T")
logger = logging.getLogger("hunch.db")

MAX_ATTEMPTS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """The unit of work on Postgres or SQLite (see `app.services.ports.UnitOfWork`)."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow, *, on_driver: bool = False) -> None:
        self.database = database
        self._on_driver = on_driver and database.is_postgres
        self.clock = clock
        self.now = clock()
        self.began = 0.0
        self._conn: Connection | None = None
        self.wrote_events = False
        self.committed_events = False
        self.writes: Writes = SetWrites() if database.is_postgres else RowWrites()
        self.guilds = SqlGuilds(self, database.guild_settings)
        self.accounts = SqlAccounts(self)
        self.markets = SqlMarkets(self)
        self.positions = SqlPositions(self)
        self.trades = SqlTrades(self)
        self.records = SqlRecords(self)
        self.ledger = SqlLedger(self)
        self.events = SqlEventLog(self)
        self.queue = SqlEventQueue(self)
        self.messages = SqlMessages(self)
        self.price_history = SqlPriceHistory(self)
        self.reads = SqlReads(self)
        self.books = SqlBooks(self)
        self.scores = SqlScores(self)
        self.seasons = SqlSeasons(self)

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "unit of work used outside `async with`"
        return self._conn

    @property
    def dialect(self) -> str:
        return self.database.dialect

    async def __aenter__(self) -> UnitOfWork:
        self.now = self.clock()
        self.began = time.perf_counter()
        conn = await self.database.engine.connect()
        if self._on_driver:
            # Stands in for the Connection: the part of its interface the repositories use.
            self._conn = cast(Connection, await DriverConnection.checkout(conn, self.database.slow_statements))
        else:
            self._conn = conn
            await conn.begin()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        conn, self._conn = self._conn, None
        self.writes.drain()
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        except Exception:  # the connection may already be gone; the server rolls back on its own
            logger.debug("rollback failed", exc_info=True)
        finally:
            try:
                await conn.close()
            except Exception:
                logger.debug("close failed", exc_info=True)

    async def commit(self, *, wait_for_disk: bool = True) -> None:
        if not wait_for_disk and self.database.is_postgres:
            # Postgres: this transaction only (set_config(…, true)), in the flush's statement when there is one.
            if not await self._flush(relaxed=True):
                await self.conn.execute(_RELAX)
        else:
            await self.flush()
        try:
            await self.conn.commit()
        except Exception as exc:
            if is_disconnect(exc):  # the server may have committed before the connection went
                logger.warning("database connection lost during COMMIT", exc_info=True)
                telemetry.count(telemetry.DB_ERRORS, kind="commit_unknown")
                raise OutcomeUnknown from exc
            raise
        telemetry.observe(telemetry.TRANSACTION_DURATION, time.perf_counter() - self.began)
        self.events.committed()
        if self.wrote_events:
            self.committed_events, self.wrote_events = True, False
        self.guilds.committed()

    async def flush(self) -> None:
        """Send the staged writes, in order. On Postgres they go as one statement of data-modifying CTEs:
        one round trip however many there are (writes staged together must not touch one row twice)."""
        await self._flush()

    async def _flush(self, *, relaxed: bool = False) -> bool:
        """Whether the writes went as one combined statement (with `relaxed`, it also turned the transaction's
        synchronous_commit off)."""
        writes = self.writes.drain()
        if not writes:
            return False
        if not self.database.is_postgres or len(writes) == 1 or any(w.many for w in writes):
            for write in writes:
                await self._execute(write)
            return False
        merged: dict[str, Any] = {}
        for write in writes:
            if write.params:
                merged.update(write.params)  # type: ignore[arg-type]
        statements = tuple(write.statement for write in writes)
        if all(write.params is not None for write in writes):
            await self.conn.execute(_combined(statements, relaxed), merged)
        else:
            await self.conn.execute(_combine(statements, relaxed), merged)
        return True

    async def _execute(self, write: Write) -> None:
        if write.params is None:
            await self.conn.execute(write.statement)
        elif write.many:
            if write.params:
                await self.conn.execute(write.statement, list(write.params))  # type: ignore[arg-type]
        else:
            names = _bind_names(write.statement)
            params: Mapping[str, Any] = write.params  # type: ignore[assignment]
            await self.conn.execute(write.statement, {k: v for k, v in params.items() if k in names})


_RELAX = text("SELECT set_config('synchronous_commit', 'off', true)")


def _combine(statements: Sequence[UpdateBase], relaxed: bool = False) -> Select[Any]:
    """`WITH w0 AS (… RETURNING 1), w1 AS (…) SELECT (SELECT count(*) FROM w0), …`.

    Each CTE is read by the main query in order, so the statements run, and take their row locks, in the
    order they were staged: Postgres gives no order to data-modifying CTEs nobody reads.
    """
    ctes = [
        (statement if statement._returning else statement.returning(literal_column("1"))).cte(f"w{i}")
        for i, statement in enumerate(statements)
    ]
    counts: list[Any] = [select(func.count()).select_from(cte).scalar_subquery() for cte in ctes]
    if relaxed:
        counts.append(func.set_config("synchronous_commit", "off", True))
    return select(*counts)


_COMBINED: dict[tuple[object, ...], tuple[tuple[UpdateBase, ...], Select[Any]]] = {}
_BIND_NAMES: dict[int, tuple[UpdateBase, frozenset[str]]] = {}


def _combined(statements: tuple[UpdateBase, ...], relaxed: bool = False) -> Select[Any]:
    key = (relaxed, *(id(statement) for statement in statements))
    found = _COMBINED.get(key)
    if found is None:
        # The statements are kept with the combination, so their ids stay theirs.
        found = _COMBINED[key] = (statements, _combine(statements, relaxed))
    return found[1]


def _bind_names(statement: UpdateBase) -> frozenset[str]:
    found = _BIND_NAMES.get(id(statement))
    if found is None:
        names = frozenset(node.key for node in visitors.iterate(statement) if isinstance(node, BindParameter))
        found = _BIND_NAMES[id(statement)] = (statement, names)
    return found[1]


async def run_transaction(
    database: Database,
    work: Callable[[UnitOfWork], Awaitable[T]],
    *,
    clock: Callable[[], datetime] = utcnow,
    retry_integrity: bool = False,
    after_events: Callable[[], Awaitable[None]] | None = None,
    on_driver: bool = False,
) -> T:
    """Run `work` in a fresh unit of work, retrying transient conflicts.

    `retry_integrity` also retries a unique-key race (two requests creating the same row at once): the next
    attempt sees the row the other one committed. `after_events` runs once the work has committed events
    (it wakes the worker); its failure is logged, never raised: the events are safe, a sweep finds them.
    `on_driver` runs it on the driver underneath SQLAlchemy, on Postgres (`app.persistence.driver`).
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with UnitOfWork(database, clock, on_driver=on_driver) as uow:
                result = await work(uow)
            if uow.committed_events and after_events is not None:
                try:
                    await after_events()
                except Exception:
                    logger.warning("waking the worker failed; it will find the events on its next poll", exc_info=True)
            return result
        except IntegrityError:
            if retry_integrity and attempt < MAX_ATTEMPTS:
                telemetry.count(telemetry.TRANSACTION_RETRIES, reason="serialization")
                continue
            telemetry.count(telemetry.DB_ERRORS, kind="other")
            raise
        except HunchError:
            raise
        except Exception as exc:
            if is_retryable(exc) and attempt < MAX_ATTEMPTS:
                telemetry.count(telemetry.TRANSACTION_RETRIES, reason=retry_reason(exc))
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue
            if is_disconnect(exc):
                logger.warning("database connection lost mid-transaction", exc_info=True)
                telemetry.count(telemetry.DB_ERRORS, kind="unavailable")
                raise Unavailable(
                    "We lost contact with the database, so nothing was changed. Please try again."
                ) from exc
            if isinstance(exc, DBAPIError):
                telemetry.count(telemetry.DB_ERRORS, kind="other")
            raise
    raise AssertionError("unreachable")


class Transactions:
    """`app.services.ports.Transactions` on a database."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], datetime] = utcnow,
        after_events: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.after_events = after_events  # set by bootstrap: wakes the worker (in process, or on its queue)

    async def run(self, work: Callable[[Any], Awaitable[T]], *, retry_duplicates: bool = False, hot: bool = False) -> T:
        return await run_transaction(
            self.database,
            work,
            clock=self.clock,
            retry_integrity=retry_duplicates,
            after_events=self.after_events,
            on_driver=hot,
        )
