"""The event log as the worker's queue (`app.services.delivery.EventQueue`).

Delivery is tracked per stream: `event_streams.delivered_sequence` is how far a stream has been delivered,
`event_pending` holds the streams with more to deliver (written by the outbox with the events), `event_dead`
the events that exhausted their attempts. A worker leases `event_pending` rows (`FOR UPDATE SKIP LOCKED` on
Postgres, so two workers never lease one stream; SQLite runs one writer at a time) and reads each stream's
undelivered events off the stream index. Nothing is locked while consumers work: a lease that runs out (its
worker died) makes the stream claimable again, from its cursor.

Moving a stream's cursor locks its `event_streams` row, the row a writer bumps first, so a stream is never
marked done while a writer is adding to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.events import AggregateType, EventStatus, StoredEvent
from app.domain.market import as_utc
from app.persistence.session import Session
from app.services.delivery import Attempt, Backlog, Batch, Delivery, QueuedEvent
from models.tables import event_dead, event_pending, event_streams, events

PER_STREAM = 200  # events of one stream delivered in a batch
REDRIVES = 20  # re-driven dead events in a batch
ERROR_LENGTH = 2000
Stream = tuple[AggregateType, int]


def stored(row: Mapping[Any, Any]) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        type=row["type"],
        version=int(row["version"]),
        aggregate_type=AggregateType(row["aggregate_type"]),
        aggregate_id=int(row["aggregate_id"]),
        sequence=int(row["sequence"]),
        guild_id=int(row["guild_id"]),
        occurred_at=as_utc(row["occurred_at"]),
        actor_id=int(row["actor_id"]),
        interaction_id=row["interaction_id"],
        payload=row["payload"],
    )


def _is(table: sa.Table, stream: Stream) -> Any:
    return sa.and_(table.c.aggregate_type == stream[0].value, table.c.aggregate_id == stream[1])


def _joined(table: sa.Table, other: sa.Table) -> Any:
    return sa.and_(table.c.aggregate_type == other.c.aggregate_type, table.c.aggregate_id == other.c.aggregate_id)


class SqlEventQueue:
    def __init__(self, session: Session) -> None:
        self._session = session

    @property
    def _postgres(self) -> bool:
        return self._session.dialect == "postgresql"

    async def claim(self, now: datetime, lease_until: datetime, streams: int) -> Batch:
        conn = self._session.conn
        due = (
            sa.select(event_pending.c.aggregate_type, event_pending.c.aggregate_id, event_pending.c.attempts)
            .add_columns(event_streams.c.delivered_sequence)
            .join(event_streams, _joined(event_streams, event_pending))
            .where(
                event_pending.c.next_attempt_at <= now,
                sa.or_(event_pending.c.leased_until.is_(None), event_pending.c.leased_until <= now),
            )
            .order_by(event_pending.c.next_attempt_at)
            .limit(streams)
        )
        if self._postgres:
            due = due.with_for_update(of=event_pending, skip_locked=True)
        heads = (await conn.execute(due)).all()
        leased: list[Stream] = []
        deliveries: list[Delivery] = []
        for aggregate_type, aggregate_id, attempts, delivered in heads:
            stream = (AggregateType(aggregate_type), int(aggregate_id))
            leased.append(stream)
            await conn.execute(
                sa.update(event_pending).where(_is(event_pending, stream)).values(leased_until=lease_until)
            )
            rows = (
                await conn.execute(
                    sa.select(events)
                    .where(_is(events, stream), events.c.sequence > delivered)
                    .order_by(events.c.sequence)
                    .limit(PER_STREAM)
                )
            ).mappings()
            for place, row in enumerate(rows):
                deliveries.append(Delivery(stored(row), int(attempts) if place == 0 else 0))
        deliveries.extend(await self._claim_redrives(now, lease_until))
        return Batch(tuple(leased), tuple(deliveries))

    async def _claim_redrives(self, now: datetime, lease_until: datetime) -> list[Delivery]:
        conn = self._session.conn
        due = (
            sa.select(event_dead.c.event_id, event_dead.c.attempts)
            .where(
                event_dead.c.retry_at <= now,
                sa.or_(event_dead.c.leased_until.is_(None), event_dead.c.leased_until <= now),
            )
            .order_by(event_dead.c.retry_at)
            .limit(REDRIVES)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        found = {event_id: int(attempts) for event_id, attempts in (await conn.execute(due)).all()}
        if not found:
            return []
        ids = list(found)
        await conn.execute(sa.update(event_dead).where(event_dead.c.event_id.in_(ids)).values(leased_until=lease_until))
        rows = (await conn.execute(sa.select(events).where(events.c.id.in_(ids)).order_by(events.c.id))).mappings()
        return [Delivery(stored(row), found[row["id"]], redrive=True) for row in rows]

    async def record(self, batch: Batch, attempts: Sequence[Attempt], now: datetime) -> None:
        by_stream: dict[Stream, list[Attempt]] = {stream: [] for stream in batch.streams}
        for attempt in attempts:
            if attempt.delivery.redrive:
                await self._redriven(attempt, now)
            else:
                by_stream.setdefault(attempt.delivery.stream, []).append(attempt)
        for stream, tried in sorted(by_stream.items(), key=lambda item: (item[0][0].value, item[0][1])):
            await self._moved_on(stream, tried, now)

    async def _moved_on(self, stream: Stream, tried: list[Attempt], now: datetime) -> None:
        conn = self._session.conn
        upto, stop = 0, None
        for attempt in sorted(tried, key=lambda a: a.delivery.event.sequence):
            if attempt.error is not None and attempt.retry_at is None:  # dead: set aside, the stream goes on
                event = attempt.delivery.event
                await conn.execute(
                    sa.insert(event_dead).values(
                        event_id=event.id,
                        attempts=attempt.delivery.attempts + 1,
                        last_error=attempt.error[:ERROR_LENGTH],
                        died_at=now,
                    )
                )
            elif not attempt.delivered:  # failed or postponed: the rest of the stream waits behind it
                stop = attempt
                break
            upto = attempt.delivery.event.sequence
        larger = sa.func.greatest if self._postgres else sa.func.max
        # Locks the stream's row (a writer adding to it commits first) and reads its latest state.
        moved = (
            await conn.execute(
                sa.update(event_streams)
                .where(_is(event_streams, stream))
                .values(delivered_sequence=larger(event_streams.c.delivered_sequence, upto))
                .returning(event_streams.c.last_sequence, event_streams.c.delivered_sequence)
            )
        ).first()
        pending = sa.update(event_pending).where(_is(event_pending, stream))
        if stop is not None:
            failed = stop.error is not None
            await conn.execute(
                pending.values(
                    leased_until=None,
                    next_attempt_at=stop.retry_at,
                    attempts=stop.delivery.attempts + (1 if failed else 0),
                    last_error=stop.error[:ERROR_LENGTH] if stop.error is not None else None,
                )
            )
        elif moved is not None and moved[1] >= moved[0]:  # caught up
            await conn.execute(sa.delete(event_pending).where(_is(event_pending, stream)))
        else:  # more to deliver (written meanwhile, or more than a batch): due now, from a fresh head
            await conn.execute(pending.values(leased_until=None, next_attempt_at=now, attempts=0, last_error=None))

    async def _redriven(self, attempt: Attempt, now: datetime) -> None:
        mine = event_dead.c.event_id == attempt.delivery.event.id
        if attempt.delivered:
            await self._session.conn.execute(sa.delete(event_dead).where(mine))
            return
        failed = attempt.error is not None
        values: dict[str, Any] = {"leased_until": None, "retry_at": attempt.retry_at}
        if failed:
            values.update(attempts=event_dead.c.attempts + 1, last_error=(attempt.error or "")[:ERROR_LENGTH])
            if attempt.retry_at is None:
                values["died_at"] = now
        await self._session.conn.execute(sa.update(event_dead).where(mine).values(**values))

    async def backlog(self) -> Backlog:
        conn = self._session.conn
        waiting = sa.select(event_streams).join(event_pending, _joined(event_pending, event_streams)).subquery()
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
        head = sa.and_(_joined(event_pending, events), events.c.sequence == event_streams.c.delivered_sequence + 1)
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
                events.join(event_streams, _joined(event_streams, events))
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
            query = query.where(_is(events, aggregate))
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
