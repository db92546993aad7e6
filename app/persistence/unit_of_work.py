"""One unit of work per request: a single transaction, rolled back unless explicitly committed.

`run_transaction` retries serialization failures and deadlocks a bounded number of times, and turns a
connection lost mid-transaction into `Unavailable` (the transaction never committed, so nothing applied).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, literal_column, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

from app.errors import Unavailable
from app.persistence.database import Database

T = TypeVar("T")
logger = logging.getLogger("hunch.db")

RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
MAX_ATTEMPTS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    def __init__(self, database: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.clock = clock
        self._conn: AsyncConnection | None = None
        self._staged: list[UpdateBase] = []
        self.now = clock()

    @property
    def conn(self) -> AsyncConnection:
        assert self._conn is not None, "unit of work used outside `async with`"
        return self._conn

    @property
    def is_postgres(self) -> bool:
        return self.database.is_postgres

    async def __aenter__(self) -> UnitOfWork:
        self.now = self.clock()
        self._conn = await self.database.engine.connect()
        await self._conn.begin()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        conn, self._conn = self._conn, None
        self._staged = []
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

    async def commit(self) -> None:
        await self.flush()
        await self.conn.commit()

    def stage(self, *statements: UpdateBase) -> None:
        """Queue writes; they go to the database together at the next `flush()` or `commit()`."""
        self._staged.extend(statements)

    async def flush(self) -> list[list[dict[str, Any]]]:
        """Apply the staged DML statements in order and return each one's RETURNING rows.

        On Postgres they go as one statement of data-modifying CTEs: one round trip however many
        there are. Statements staged together must not touch the same row twice.
        """
        statements, self._staged = self._staged, []
        if not statements:
            return []
        if not self.is_postgres or len(statements) == 1:
            results = []
            for statement in statements:
                result = await self.conn.execute(statement)
                results.append([dict(row) for row in result.mappings().all()] if result.returns_rows else [])
            return results
        ctes = []
        for index, statement in enumerate(statements):
            if not statement._returning:  # noqa: SLF001 - SQLAlchemy has no public accessor
                statement = statement.returning(literal_column("1").label("ok"))
            ctes.append(statement.cte(f"w{index}"))
        columns = [
            select(func.coalesce(func.json_agg(literal_column(cte.name)), literal_column("'[]'::json")))
            .select_from(cte)
            .scalar_subquery()
            for cte in ctes
        ]
        row = (await self.conn.execute(select(*columns))).one()
        return [_loads(value) if isinstance(value, str) else list(value) for value in row]


def _loads(value: str) -> list[dict[str, Any]]:
    import json

    loaded = json.loads(value)
    return list(loaded)


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    for attr in ("sqlstate", "pgcode"):
        code = getattr(orig, attr, None)
        if code:
            return str(code)
    cause = getattr(orig, "__cause__", None)
    code = getattr(cause, "sqlstate", None)
    return str(code) if code else None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
        if _sqlstate(exc) in RETRYABLE_SQLSTATES:
            return True
        return "database is locked" in str(exc.orig)
    return False


def is_disconnect(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(
        names
        & {
            "ConnectionDoesNotExistError",
            "ConnectionResetError",
            "ConnectionRefusedError",
            "InterfaceError",
            "AdminShutdownError",
            "TerminatingConnectionError",
            "CannotConnectNowError",
            "OSError",
            "TimeoutError",
        }
    ) or _sqlstate_any(exc, {"57P01", "57P02", "57P03", "08000", "08003", "08006"})


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def _sqlstate_any(exc: BaseException, codes: set[str]) -> bool:
    return any(str(getattr(e, "sqlstate", "")) in codes for e in _chain(exc))


async def run_transaction(
    database: Database,
    work: Callable[[UnitOfWork], Awaitable[T]],
    *,
    clock: Callable[[], datetime] = utcnow,
    retry_integrity: bool = False,
) -> T:
    """Run `work` in a fresh unit of work, retrying transient conflicts.

    `retry_integrity` also retries a unique-key race (two requests creating the same row at once): the
    next attempt sees the row the other one committed.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with UnitOfWork(database, clock) as uow:
                return await work(uow)
        except IntegrityError:
            if retry_integrity and attempt < MAX_ATTEMPTS:
                continue
            raise
        except Exception as exc:
            if is_retryable(exc) and attempt < MAX_ATTEMPTS:
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue
            if is_disconnect(exc):
                logger.warning("database connection lost mid-transaction", exc_info=True)
                raise Unavailable(
                    "We lost contact with the database, so nothing was changed. Please try again."
                ) from exc
            raise
    raise AssertionError("unreachable")
