"""The event log as operators see it (`python -m app events`): the backlog, the newest and the dead events,
retrying the dead, and the log in order for a replay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.events import AggregateType, EventStatus, StoredEvent
from app.domain.market import as_utc
from app.persistence.event_streams import same_stream, stored, stream_is
from app.persistence.session import Session
from app.services.delivery import Backlog, QueuedEvent
from models.schema import event_dead, event_pending, event_streams, events


class SqlEventOperations:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def backlog(self) -> Backlog:
        conn = self._session.conn
        waiting = sa.select(event_streams).join(event_pending, same_stream(event_pending, event_streams)).subquery()
        pending = await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(waiting.c.last_sequence - waiting.c.delivered_sequence), 0))
        )
        redriven = await conn.scalar(sa.select(sa.func.count()).where(event_dead.c.retry_at.is_not(None)))
        dead = await conn.scalar(sa.select(sa.func.count()).where(event_dead.c.retry_at.is_(None)))
        oldest = await conn.scalar(
            sa.select(sa.func.min(events.c.occurred_at)).select_from(
                waiting.join(
                    events,
                    sa.and_(
                        events.c.aggregate_type == waiting.c.aggregate_type,
                        events.c.aggregate_id == waiting.c.aggregate_id,
                        events.c.sequence == waiting.c.delivered_sequence + 1,
                    ),
                )
            )
        )
        return Backlog(
            pending=int(pending or 0) + int(redriven or 0),
            dead=int(dead or 0),
            oldest_pending_at=as_utc(oldest) if oldest is not None else None,
        )

    async def recent(self, limit: int, *, dead_only: bool = False) -> list[QueuedEvent]:
        head = sa.and_(same_stream(event_pending, events), events.c.sequence == event_streams.c.delivered_sequence + 1)
        query = (
            sa.select(
                events,
                event_streams.c.delivered_sequence,
                event_dead.c.attempts.label("dead_attempts"),
                event_dead.c.last_error.label("dead_error"),
                event_dead.c.retry_at,
                event_pending.c.attempts.label("head_attempts"),
                event_pending.c.last_error.label("head_error"),
                event_pending.c.next_attempt_at,
            )
            .select_from(
                events.join(event_streams, same_stream(event_streams, events))
                .outerjoin(event_dead, event_dead.c.event_id == events.c.id)
                .outerjoin(event_pending, head)
            )
            .order_by(events.c.id.desc())  # ids are time-ordered
            .limit(limit)
        )
        if dead_only:
            query = query.where(event_dead.c.event_id.is_not(None))
        return [_queued(row) for row in (await self._session.conn.execute(query)).mappings()]

    async def retry(self, event_ids: Sequence[str] | None, now: datetime) -> int:
        query = sa.update(event_dead).where(event_dead.c.retry_at.is_(None))
        if event_ids is not None:
            query = query.where(event_dead.c.event_id.in_(list(event_ids)))
        result = await self._session.conn.execute(query.values(retry_at=now, attempts=0, leased_until=None))
        return int(result.rowcount)

    async def history(
        self, aggregate: tuple[AggregateType, int] | None, after: tuple[str, int, int] | None, limit: int
    ) -> list[StoredEvent]:
        stream = (events.c.aggregate_type, events.c.aggregate_id)
        query = sa.select(events).order_by(*stream, events.c.sequence).limit(limit)
        if aggregate is not None:
            query = query.where(stream_is(events, aggregate))
        if after is not None:
            query = query.where(sa.tuple_(*stream, events.c.sequence) > sa.tuple_(*(sa.literal(v) for v in after)))
        return [stored(row) for row in (await self._session.conn.execute(query)).mappings()]


def _queued(row: Mapping[Any, Any]) -> QueuedEvent:
    event = stored(row)
    if row["dead_attempts"] is not None:
        status = EventStatus.PENDING if row["retry_at"] is not None else EventStatus.DEAD
        return QueuedEvent(event, status, int(row["dead_attempts"]), row["dead_error"], _utc(row["retry_at"]))
    if event.sequence <= int(row["delivered_sequence"]):
        return QueuedEvent(event, EventStatus.DONE, 0, None, None)
    attempts = int(row["head_attempts"] or 0)
    return QueuedEvent(event, EventStatus.PENDING, attempts, row["head_error"], _utc(row["next_attempt_at"]))


def _utc(moment: datetime | None) -> datetime | None:
    return as_utc(moment) if moment is not None else None
