"""The engine: one per process, created lazily, reused across requests and warm Lambda invocations.

A pooled Postgres connection is checked before use only when it has sat idle for `PING_AFTER_IDLE_SECONDS`
(the connections a failover or a restart leaves dead are the idle ones): SQLAlchemy's `pool_pre_ping` costs
three round trips (BEGIN, a query, ROLLBACK) on every checkout, more than a whole trade's own statements. A
connection that dies while in use fails its transaction, which nothing applied (`Unavailable`), as before.
The pool hands out the most recently used connection first, so a busy process keeps reusing warm ones.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from app.settings import PoolMode, Settings

if TYPE_CHECKING:
    from app.domain.guild import GuildSettings
    from app.persistence.engine import Engine
    from app.persistence.statements import SlowStatements


def make_engine(settings: Settings) -> Engine:
    from sqlalchemy import event
    from sqlalchemy.pool import NullPool

    from app.persistence.engine import create_engine

    url = settings.database_url
    kwargs: dict[str, Any] = {}
    if settings.is_sqlite:
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_engine(url, **kwargs)

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
        # `DATABASE_POOL_SIZE` and as many again under load, as before, but every connection opened is kept: a
        # pool's overflow is closed as each one comes back, and a process busy on many markets at once (a batch
        # in flight per market) reopened about ten connections a second, each a new backend that asyncpg then
        # introspects. So a process that was once that busy holds that many connections (pinged before reuse after
        # 10 s idle, replaced at a checkout 30 minutes after they opened): size `max_connections` for them.
        kwargs["pool_size"] = 2 * settings.database_pool_size
        kwargs["max_overflow"] = 0
        kwargs["pool_recycle"] = 1800
        kwargs["pool_use_lifo"] = True
    kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    ping_idle_connections(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 10.0
_IDLE_SINCE = "hunch_idle_since"


def ping_idle_connections(engine: Engine, after_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a connection at checkout only when it has been idle `after_seconds`; a dead one is replaced."""
    from sqlalchemy import event, exc

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return  # a new connection, or one used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # the pool discards it and checks out another (up to three times)
            raise exc.DisconnectionError("an idle connection was found dead") from error


GUILD_SETTINGS_TTL_SECONDS = 30.0
GUILD_SETTINGS_MAX_ENTRIES = 10_000


class Database:
    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        from app.persistence.cache import TtlCache

        self.settings = settings
        self._engine = engine
        self.slow_statements: SlowStatements | None = None
        # Each server's settings (about 0.5 KB each): read by every first trade and every read, changed rarely.
        self.guild_settings: TtlCache[int, GuildSettings] = TtlCache(
            "guild_settings", max_entries=GUILD_SETTINGS_MAX_ENTRIES, ttl_seconds=GUILD_SETTINGS_TTL_SECONDS
        )
        if engine is not None:
            self._watch(engine)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._watch(make_engine(self.settings))
        return self._engine

    def _watch(self, engine: Engine) -> Engine:
        """Every statement timed (the slow-query monitor), the pool's gauges kept."""
        from app.persistence.statements import watch

        self.slow_statements = watch(engine.sync_engine, self.settings.slow_query_seconds)
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
