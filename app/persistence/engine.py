"""The engine and its connections for asyncio: SQLAlchemy's own `Engine`, driven through its greenlet bridge.

`sqlalchemy.ext.asyncio` is a thin layer over the sync `Engine`: each call runs the sync `Connection`'s method
with `greenlet_spawn`, in which the async driver's own awaits are bridged. Its package also imports the ORM, for
its sessions, which Hunch does not use, and a Lambda cold start paid for that on its first request: importing
`sqlalchemy.ext.asyncio` after `sqlalchemy` took 41-45 ms in a fresh python3.12 on the 2-core development machine.
`Engine` and `Connection` are the same layer over the same calls, for the part of `AsyncEngine`'s and
`AsyncConnection`'s interface Hunch uses, so either serves the repositories, the rate limiter and the migrations.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.util.concurrency import greenlet_spawn

T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
Result = sa.CursorResult[*tuple[Any, ...]]  # rows of any shape, as `AsyncConnection.execute` types them


def create_engine(url: str, **kwargs: Any) -> Engine:
    """`sqlalchemy.create_engine` for a URL that names an async driver (asyncpg, aiosqlite), ready for asyncio."""
    return Engine(sa.create_engine(url, **kwargs))


class Engine:
    def __init__(self, sync_engine: sa.Engine) -> None:
        if not sync_engine.dialect.is_async:
            raise ValueError(f"{sync_engine.dialect.driver!r} is not an asyncio driver (use asyncpg or aiosqlite)")
        self.sync_engine = sync_engine

    @property
    def dialect(self) -> sa.Dialect:
        return self.sync_engine.dialect

    def connect(self) -> Connection:
        """`await engine.connect()` or `async with engine.connect() as conn`."""
        return Connection(self.sync_engine)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Connection]:
        """A connection in a transaction, committed when the block ends (rolled back when it raises)."""
        async with self.connect() as conn, conn.begin():
            yield conn

    async def dispose(self, close: bool = True) -> None:
        await greenlet_spawn(self.sync_engine.dispose, close=close)


class Connection:
    """A pooled connection, checked out when awaited or entered, back in the pool when closed or exited."""

    def __init__(self, sync_engine: sa.Engine) -> None:
        self.sync_engine = sync_engine
        self.sync_connection: sa.Connection | None = None

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._start().__await__()

    async def __aenter__(self) -> Connection:
        return await self._start()

    async def __aexit__(self, *exc_info: object) -> None:
        await _to_completion(self.close())

    async def _start(self) -> Connection:
        if self.sync_connection is None:
            self.sync_connection = await greenlet_spawn(self.sync_engine.connect)
        return self

    @property
    def _sync(self) -> sa.Connection:
        if self.sync_connection is None:
            raise sa.exc.InvalidRequestError("the connection is not started: await it or use `async with`")
        return self.sync_connection

    @property
    def dialect(self) -> sa.Dialect:
        return self.sync_engine.dialect

    def in_transaction(self) -> bool:
        return self.sync_connection is not None and self.sync_connection.in_transaction()

    def begin(self) -> Transaction:
        """`await conn.begin()`, or `async with conn.begin()` to commit when the block ends."""
        return Transaction(self)

    async def commit(self) -> None:
        await greenlet_spawn(self._sync.commit)

    async def rollback(self) -> None:
        await greenlet_spawn(self._sync.rollback)

    async def close(self) -> None:
        if self.sync_connection is not None:
            await greenlet_spawn(self.sync_connection.close)

    async def invalidate(self, exception: BaseException | None = None) -> None:
        await greenlet_spawn(self._sync.invalidate, exception=exception)

    async def execution_options(self, **options: Any) -> Connection:
        await greenlet_spawn(self._sync.execution_options, **options)
        return self

    async def execute(self, statement: Any, parameters: Params = None, **kwargs: Any) -> Result:
        """The statement's result, fetched in full."""
        return await _settled(await greenlet_spawn(self._sync.execute, statement, parameters, **kwargs))

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result:
        return await _settled(await greenlet_spawn(self._sync.exec_driver_sql, statement, parameters))

    async def scalar(self, statement: Any, parameters: Params = None, **kwargs: Any) -> Any:
        return (await self.execute(statement, parameters, **kwargs)).scalar()

    async def scalars(self, statement: Any, parameters: Params = None, **kwargs: Any) -> sa.ScalarResult[Any]:
        return (await self.execute(statement, parameters, **kwargs)).scalars()

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(sync_connection, *args, **kwargs)`, where the sync API works (the migrations, DDL)."""
        result: T = await greenlet_spawn(fn, self._sync, *args, **kwargs)
        return result

    async def get_raw_connection(self) -> Any:
        """The pool's proxy of the DB-API connection (its `driver_connection` is the driver's own)."""
        return await greenlet_spawn(getattr, self._sync, "connection")


class Transaction:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sync: sa.RootTransaction | None = None

    def __await__(self) -> Generator[Any, None, Transaction]:
        return self._start().__await__()

    async def _start(self) -> Transaction:
        self._sync = await greenlet_spawn(self._conn._sync.begin)
        return self

    async def __aenter__(self) -> Transaction:
        await self._start()
        assert self._sync is not None
        self._sync.__enter__()  # as `with conn.begin()` on the sync connection: it knows the block is open
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        assert self._sync is not None
        await greenlet_spawn(self._sync.__exit__, *exc_info)


async def _settled(result: Result) -> Result:
    """What `AsyncConnection.execute` does with a result: a server-side cursor (`stream_results`) cannot be read
    from here, so it is closed and refused; a client-side one, its rows fetched, is closed on the driver now."""
    if result.context._is_server_side:
        await greenlet_spawn(result.close)
        raise sa.exc.InvalidRequestError("stream_results is not supported: the rows are fetched in full")
    if result.cursor is not None:
        await result.cursor._async_soft_close()
    return result


async def _to_completion(cleanup: Coroutine[Any, Any, None]) -> None:
    """Run `cleanup` to its end even when the caller is cancelled meanwhile, then let the cancellation through:
    a connection abandoned halfway back to its pool could land there after the pool was disposed of."""
    task = asyncio.ensure_future(cleanup)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as error:
            if task.done():
                raise
            cancelled = error
        else:
            break
    if cancelled is not None:
        raise cancelled
