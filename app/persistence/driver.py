"""The trading desk's transactions on the asyncpg connection underneath SQLAlchemy's pool.

A trade batch or an account opening is a handful of statements built once per process, so SQLAlchemy's work per
call (its execution context, the greenlet hop, the result proxy) was most of what the statements cost the
server: 518 us of CPU for a BEGIN, one SELECT and a COMMIT through it against 101 us on the driver itself.
`DriverConnection` runs the same statements, compiled once by SQLAlchemy's own compiler for the asyncpg dialect,
on the driver, with SQLAlchemy's bind and result processing, and answers with the part of `Connection`'s
interface the repositories use. Its errors are SQLAlchemy's (`IntegrityError`, `DBAPIError` with
`connection_invalidated`), so the unit of work retries and reports them as it does any other.

Postgres only, and only where a transaction asks for it (`UnitOfWork(on_driver=True)`): the connection is checked out
of the same pool and goes back to it, with the transaction over.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ClauseElement

from app.persistence.engine import Connection
from app.persistence.failures import is_disconnect
from app.persistence.statements import SlowStatements

MAX_COMPILED = 512  # statements remembered by identity (those built per call are compiled again each time)


@dataclass(frozen=True, slots=True)
class _Compiled:
    statement: ClauseElement  # kept, so its id stays its own while it is remembered
    sql: str
    compiled: Any
    names: tuple[str, ...]  # the positional parameters' names, in order
    processors: Mapping[str, Callable[[Any], Any]]
    columns: tuple[str, ...]
    results: tuple[Callable[[Any], Any] | None, ...] | None  # None: no column needs one


class Rows:
    """A statement's rows, as much of SQLAlchemy's `Result` as the repositories use: rows by position, by name
    or as attributes; `mappings()` as dicts; `scalars()`; `rowcount` from the command's status."""

    def __init__(self, rows: list[Any], columns: tuple[str, ...], status: bytes | None) -> None:
        self._rows = _Listed(rows)
        self._columns = columns
        self._status = status

    @property
    def rowcount(self) -> int:
        # "UPDATE 3", "DELETE 0", "INSERT 0 2": the last word counts the rows (SQLAlchemy's -1 for other commands).
        words = (self._status or b"").split()
        counted = words[:1] in ([b"UPDATE"], [b"DELETE"], [b"INSERT"], [b"SELECT"], [b"MERGE"])
        return int(words[-1]) if counted and words[-1].isdigit() else -1

    def mappings(self) -> _Listed:
        return _Listed([dict(zip(self._columns, row, strict=True)) for row in self._rows])

    def scalars(self) -> _Listed:
        return _Listed([row[0] for row in self._rows])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows.first()

    def one_or_none(self) -> Any:
        return self._rows.one_or_none()

    def one(self) -> Any:
        return self._rows.one()

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]


class _Listed(list[Any]):
    """Rows, mappings or scalars already fetched: `all()`, `first()`, `one()`, `one_or_none()`."""

    def all(self) -> list[Any]:
        return list(self)

    def first(self) -> Any:
        return self[0] if self else None

    def one_or_none(self) -> Any:
        if len(self) > 1:
            from sqlalchemy.exc import MultipleResultsFound

            raise MultipleResultsFound("more than one row where at most one was expected")
        return self.first()

    def one(self) -> Any:
        if not self:
            from sqlalchemy.exc import NoResultFound

            raise NoResultFound("no row where one was expected")
        return self.one_or_none()


class _Row(tuple[Any, ...]):
    """A row: by position, by name (`row["name"]`) or as an attribute."""

    __slots__ = ()
    _index: Mapping[str, int] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def __getattr__(self, name: str) -> Any:
        try:
            return tuple.__getitem__(self, self._index[name])
        except KeyError:
            raise AttributeError(name) from None

    def _asdict(self) -> dict[str, Any]:
        return dict(zip(self._index, self, strict=True))


class DriverConnection:
    """One pooled connection, its transaction run on the driver (see the module's docstring)."""

    def __init__(self, conn: Connection, pooled: Any, slow: SlowStatements | None) -> None:
        self._conn = conn  # SQLAlchemy's: it holds the pool's checkout
        self._pooled = pooled  # the pool's proxy of the DB-API connection
        self._raw = pooled.driver_connection  # asyncpg.Connection
        self._dialect = conn.dialect
        self._slow = slow
        self._transaction: Any = None
        self._broken = False  # an exchange was interrupted: what the connection holds is unknown

    @classmethod
    async def checkout(cls, conn: Connection, slow: SlowStatements | None) -> DriverConnection:
        return cls(conn, await conn.get_raw_connection(), slow)

    @property
    def dialect(self) -> Any:
        return self._dialect

    def in_transaction(self) -> bool:
        return self._transaction is not None and not self._broken

    async def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Rows:
        entry = _compile(statement, self._dialect)
        values = entry.compiled.construct_params(params, _check=True) if params or entry.names else {}
        processors = entry.processors
        args = [processors[n](values[n]) if n in processors else values[n] for n in entry.names]
        if self._transaction is None:
            self._transaction = await self._exchange(self._begin(), "BEGIN")
        started = time.perf_counter()
        execute = self._raw._execute(entry.sql, args, 0, None, return_status=True)
        records, status, _ = await self._exchange(execute, entry.sql)
        if self._slow is not None:
            self._slow.timed(entry.sql, time.perf_counter() - started)
        rows = records if entry.results is None else [_processed(r, entry.results) for r in records]
        columns = entry.columns or (tuple(records[0].keys()) if records else ())
        if rows and columns:
            row_type = _row_type(columns)
            rows = [row_type(r) for r in rows]
        return Rows(rows, columns, status)

    async def scalar(self, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    async def scalars(self, statement: Any, params: Mapping[str, Any] | None = None) -> list[Any]:
        return (await self.execute(statement, params)).scalars()

    async def commit(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await self._exchange(transaction.commit(), "COMMIT")

    async def rollback(self) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None and not self._broken:
            await self._exchange(transaction.rollback(), "ROLLBACK")

    async def close(self) -> None:
        """Back to the pool, with no transaction open: one still open is rolled back first, and a connection
        whose exchange was interrupted (a cancelled task) is dropped rather than handed out again."""
        try:
            if self._broken:
                await self._conn.invalidate()
            elif self._transaction is not None:
                await self.rollback()
        finally:
            await self._conn.close()

    async def _begin(self) -> Any:
        transaction = self._raw.transaction()  # raises at once when the server has already closed the connection
        await transaction.start()
        return transaction

    async def _exchange(self, exchange: Any, sql: str) -> Any:
        try:
            return await exchange
        except Exception as error:
            raise await self._translated(error, sql) from error
        except BaseException:  # cancelled mid-exchange: the server may be mid-statement or mid-BEGIN
            self._broken = True
            raise

    async def _translated(self, error: Exception, sql: str) -> Exception:
        """The driver's error as SQLAlchemy would have raised it. A lost connection is invalidated, and with it
        every connection the pool opened before it (a restarted server leaves them all dead), as SQLAlchemy does."""
        adapted: Any = self._dialect.dbapi
        orig = _dbapi_error(error, adapted)
        lost = is_disconnect(orig) or self._raw.is_closed()
        if lost:
            self._transaction = None
            self._conn.sync_engine.pool._invalidate(self._pooled, error, _checkin=False)
            await self._conn.invalidate(error)
        error_type: Any = adapted.Error
        wrapped: Exception = DBAPIError.instance(
            sql, None, orig, error_type, hide_parameters=True, connection_invalidated=lost, dialect=self._dialect
        )
        return wrapped


def _dbapi_error(error: Exception, adapted: Any) -> Exception:
    """The DB-API error SQLAlchemy's asyncpg adapter makes of `error` (its own mapping of the driver's errors by
    class, each carrying the SQLSTATE), or `error` itself when it maps none (a lost socket, a timeout)."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection, AsyncAdapt_asyncpg_dbapi

    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(adapted, error)
    except AsyncAdapt_asyncpg_dbapi.Error as translated:
        return translated
    except Exception:  # raised back as it was: not one of the driver's errors
        return error
    return error


_COMPILED: OrderedDict[int, _Compiled] = OrderedDict()
_ROW_TYPES: dict[tuple[str, ...], type[_Row]] = {}


def _compile(statement: Any, dialect: Any) -> _Compiled:
    found = _COMPILED.get(id(statement))
    if found is not None and found.statement is statement:
        _COMPILED.move_to_end(id(statement))
        return found
    compiled = statement.compile(dialect=dialect)
    if "POSTCOMPILE" in compiled.string:
        raise NotImplementedError("expanding parameters are not run on the driver: use = ANY(:array)")
    names = tuple(compiled.positiontup or ())
    processors = dict(compiled._bind_processors)
    result_columns = getattr(compiled, "_result_columns", None) or []
    columns = tuple(column.keyname for column in result_columns)
    results = tuple(column.type._cached_result_processor(dialect, None) for column in result_columns)
    entry = _Compiled(
        statement,
        compiled.string,
        compiled,
        names,
        processors,
        columns,
        results if any(results) else None,
    )
    _COMPILED[id(statement)] = entry
    if len(_COMPILED) > MAX_COMPILED:
        _COMPILED.popitem(last=False)
    return entry


def _processed(record: Any, processors: tuple[Callable[[Any], Any] | None, ...]) -> tuple[Any, ...]:
    return tuple(
        value if process is None else process(value) for value, process in zip(record, processors, strict=True)
    )


def _row_type(columns: tuple[str, ...]) -> type[_Row]:
    found = _ROW_TYPES.get(columns)
    if found is None:
        found = _ROW_TYPES[columns] = type(
            "Row", (_Row,), {"__slots__": (), "_index": {c: i for i, c in enumerate(columns)}}
        )
    return found
