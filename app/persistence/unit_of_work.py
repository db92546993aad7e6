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

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter

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
        self._staged: list[tuple[UpdateBase, dict[str, Any] | None]] = []
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
        self._staged.extend((statement, None) for statement in statements)

    def stage_prepared(self, statement: UpdateBase, params: dict[str, Any]) -> None:
        """Queue a write built once with named `bindparam`s, with this request's values.

        Statements built once cost nothing to construct, and a batch made only of them is combined into
        one statement once per process; a parameter name means the same value across one flush.
        """
        self._staged.append((statement, params))

    async def flush(self) -> None:
        """Apply the staged writes in order.

        On Postgres they go as one statement of data-modifying CTEs: one round trip however many there
        are. Statements staged together must not touch the same row twice.
        """
        staged, self._staged = self._staged, []
        if not staged:
            return
        if not self.is_postgres or len(staged) == 1:
            for statement, params in staged:
                if params is None:
                    await self.conn.execute(statement)
                else:
                    names = _bind_names(statement)
                    await self.conn.execute(statement, {k: v for k, v in params.items() if k in names})
            return
        merged: dict[str, Any] = {}
        for _, params in staged:
            merged.update(params or {})
        statements = tuple(statement for statement, _ in staged)
        if all(params is not None for _, params in staged):
            await self.conn.execute(_combined(statements), merged)
        else:
            await self.conn.execute(_combine(statements), merged)


def _combine(statements: Sequence[UpdateBase]) -> Select[Any]:
    """`WITH w0 AS (… RETURNING 1), w1 AS (…) SELECT (SELECT count(*) FROM w0), …`.

    Each CTE is read by the main query in order, so the statements run, and take their row locks, in the
    order they were staged: Postgres gives no order to data-modifying CTEs nobody reads.
    """
    ctes = [
        (statement if statement._returning else statement.returning(literal_column("1"))).cte(f"w{i}")
        for i, statement in enumerate(statements)
    ]
    return select(*(select(func.count()).select_from(cte).scalar_subquery() for cte in ctes))


_COMBINED: dict[tuple[int, ...], tuple[tuple[UpdateBase, ...], Select[Any]]] = {}
_BIND_NAMES: dict[int, tuple[UpdateBase, frozenset[str]]] = {}


def _combined(statements: tuple[UpdateBase, ...]) -> Select[Any]:
    key = tuple(id(statement) for statement in statements)
    found = _COMBINED.get(key)
    if found is None:
        # The statements are kept with the combination, so their ids stay theirs.
        found = _COMBINED[key] = (statements, _combine(statements))
    return found[1]


def _bind_names(statement: UpdateBase) -> frozenset[str]:
    found = _BIND_NAMES.get(id(statement))
    if found is None:
        names = frozenset(node.key for node in visitors.iterate(statement) if isinstance(node, BindParameter))
        found = _BIND_NAMES[id(statement)] = (statement, names)
    return found[1]


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
