"""The gauges read from the database: how far the worker lags, and how many members traded lately.

Sampled when they are asked for (a Prometheus scrape, the end of a Lambda worker's or scheduler's run), not
per request. Active members are counted from the event log's `trade.executed` events: its primary key sorts by
time, so the window is a range of the index, never a scan of the trades.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from app import telemetry
from app.domain.events import TradeExecuted
from app.persistence.database import Database
from app.persistence.unit_of_work import UnitOfWork
from models.schema import events

WINDOWS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)))


def first_event_id(since: datetime) -> str:
    """The smallest event id an event recorded at `since` or later can have (see `outbox.new_event_id`)."""
    millis = int(since.timestamp() * 1000) & ((1 << 48) - 1)
    return str(uuid.UUID(int=millis << 80))


async def sample(database: Database, clock: Callable[[], datetime]) -> None:
    async with UnitOfWork(database, clock) as uow:
        backlog = await uow.queue.backlog()
        lag = (uow.now - backlog.oldest_pending_at).total_seconds() if backlog.oldest_pending_at else 0.0
        telemetry.gauge(telemetry.OUTBOX_LAG, max(0.0, lag))
        for window, length in WINDOWS:
            members = await uow.conn.scalar(
                sa.select(sa.func.count(sa.distinct(events.c.actor_id))).where(
                    events.c.id >= first_event_id(uow.now - length), events.c.type == TradeExecuted.TYPE
                )
            )
            telemetry.gauge(telemetry.ACTIVE_MEMBERS, int(members or 0), window=window)
