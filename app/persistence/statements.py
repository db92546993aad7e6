"""The slow-query monitor, and the connection pool's gauges: listeners on the engine.

Every statement's time feeds hunch_db_statement_duration_seconds. One slower than `SLOW_QUERY_SECONDS` is
counted (hunch_db_slow_statements_total) and logged with its duration the first time its shape is seen in
this process: the SQL text with its placeholders, never the values bound to them, and with a list of
placeholders (an `IN` expanded for each call) folded into one, so a shape is logged once however many
values it was called with.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from typing import Any

from sqlalchemy import event

from app import telemetry
from app.logging import log_fields

logger = logging.getLogger("hunch.db.slow")
MAX_SHAPES = 10_000  # shapes remembered as already logged; past that the memory starts again
MAX_LOGGED_SQL = 2_000
_PLACEHOLDER_LISTS = re.compile(r"(?:\$\d+|\?|%\(\w+\)s|:\w+)(?:\s*,\s*(?:\$\d+|\?|%\(\w+\)s|:\w+))+")
_SPACES = re.compile(r"\s+")
_WATCHED: weakref.WeakKeyDictionary[Any, SlowStatements] = weakref.WeakKeyDictionary()


def shape(statement: str) -> str:
    """The statement with its whitespace collapsed and its lists of placeholders folded into one."""
    return _PLACEHOLDER_LISTS.sub("…", _SPACES.sub(" ", statement).strip())


class SlowStatements:
    def __init__(self, threshold: float) -> None:
        self.threshold = threshold  # seconds; 0: none is logged
        self.logged: set[str] = set()

    def timed(self, statement: str, seconds: float) -> None:
        telemetry.observe(telemetry.STATEMENT_DURATION, seconds)
        if not self.threshold or seconds < self.threshold:
            return
        telemetry.count(telemetry.SLOW_STATEMENTS)
        sql = shape(statement)
        if sql in self.logged:
            return
        if len(self.logged) >= MAX_SHAPES:
            self.logged.clear()
        self.logged.add(sql)
        log_fields(
            logger,
            logging.WARNING,
            "slow statement",
            duration_ms=round(seconds * 1000, 1),
            threshold_ms=round(self.threshold * 1000, 1),
            statement=sql[:MAX_LOGGED_SQL],
        )


def watch(sync_engine: Any, threshold: float) -> SlowStatements:
    """Time every statement of `sync_engine` (an async engine's `sync_engine`), and keep the pool's gauges
    (once per engine, however many databases share it)."""
    found = _WATCHED.get(sync_engine)
    if found is not None:
        return found
    slow = _WATCHED[sync_engine] = SlowStatements(threshold)

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        conn.info.setdefault("hunch_started", []).append(time.perf_counter())

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        started = conn.info.get("hunch_started")
        if started:
            slow.timed(statement, time.perf_counter() - started.pop())

    @event.listens_for(sync_engine, "handle_error")
    def _failed(context: Any) -> None:
        started = context.connection.info.get("hunch_started") if context.connection is not None else None
        if started:
            started.pop()

    pool = sync_engine.pool
    if hasattr(pool, "checkedout") and hasattr(pool, "checkedin"):

        def _checked_out(*_: Any) -> None:
            telemetry.gauge(telemetry.POOL_CONNECTIONS, pool.checkedout(), state="in_use")
            telemetry.gauge(telemetry.POOL_CONNECTIONS, pool.checkedin(), state="idle")

        def _checked_in(*_: Any) -> None:  # called before the connection is back in the pool
            telemetry.gauge(telemetry.POOL_CONNECTIONS, max(0, pool.checkedout() - 1), state="in_use")
            telemetry.gauge(telemetry.POOL_CONNECTIONS, pool.checkedin() + 1, state="idle")

        event.listen(pool, "checkout", _checked_out)
        event.listen(pool, "checkin", _checked_in)
    return slow
