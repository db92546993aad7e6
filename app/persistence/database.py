"""The engine: one per process, created lazily, reused across requests and warm Lambda invocations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.settings import PoolMode, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


def make_engine(settings: Settings) -> AsyncEngine:
    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    url = settings.database_url
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy (not the driver) issue BEGIN, so we can make it BEGIN IMMEDIATE:
            # writers then queue on the lock instead of failing on a read-to-write upgrade.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine

    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": "hunch"},
        "timeout": 5,
        "command_timeout": 10,
    }
    if settings.database_pool_mode is PoolMode.NULLPOOL:
        # PgBouncer / RDS Proxy in transaction mode cannot keep prepared statements per connection.
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_cache_size"] = 0
        kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = settings.database_pool_size
        kwargs["max_overflow"] = settings.database_pool_size
        kwargs["pool_recycle"] = 1800
    kwargs["connect_args"] = connect_args
    return create_async_engine(url, **kwargs)


class Database:
    def __init__(self, settings: Settings, engine: AsyncEngine | None = None) -> None:
        self.settings = settings
        self._engine = engine
        if engine is not None:
            self._watch(engine)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = self._watch(make_engine(self.settings))
        return self._engine

    def _watch(self, engine: AsyncEngine) -> AsyncEngine:
        """Every statement timed (the slow-query monitor), the pool's gauges kept."""
        from app.persistence.statements import watch

        watch(engine.sync_engine, self.settings.slow_query_seconds)
        return engine

    @property
    def is_postgres(self) -> bool:
        return not self.settings.is_sqlite

    @property
    def dialect(self) -> str:
        return "sqlite" if self.settings.is_sqlite else "postgresql"

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
