"""The event log as the worker's queue (`app.services.delivery.EventQueue`).

A worker leases whole streams: the pending events of streams whose first pending event is due and not
leased by another worker. On Postgres those first events are locked `FOR UPDATE SKIP LOCKED` while the lease
is written, so two workers never lease one stream; SQLite runs one writer at a time. Nothing is locked while
consumers work: a lease that runs out (its worker died) makes the stream claimable again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.events import AggregateType, EventStatus, StoredEvent
from app.domain.market import as_utc
from app.persistence.session import Session
from app.services.delivery import Backlog, Delivery, QueuedEvent
from models.tables import events

PENDING, DONE, DEAD = EventStatus.PENDING.value, EventStatus.DONE.value, EventStatus.DEAD.value
PER_STREAM = 200  # events of one stream leased at a time
_STREAM = (events.c.aggregate_type, events.c.aggregate_id)


def stored(row: Mapping[Any, Any]) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        type=row["type"],
        version=int(row["version"]),
        aggregate_type=AggregateType(row["aggregate_type"]),
        aggregate_id=int(row["aggregate_id"]),
        sequence=int(row["sequence"]),
        guild_id=int(row["guild_id"]),
        occurred_at=row["occurred_at"],
        actor_id=int(row["actor_id"]),
        interaction_id=row["interaction_id"],
        payload=row["payload"],
    )


def _heads(now: datetime, streams: int, dialect: str) -> Any:
    """The first pending event of each stream, where it is due and not leased."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import distinct_on

        first = (
            sa.select(events.c.id, events.c.next_attempt_at, events.c.leased_until)
            .where(events.c.status == PENDING)
            .order_by(*_STREAM, events.c.sequence)
            .ext(distinct_on(*_STREAM))
            .subquery("first")
        )
        return (
            sa.select(events.c.id, *_STREAM)
            .join(first, first.c.id == events.c.id)
            .where(first.c.next_attempt_at <= now, sa.or_(first.c.leased_until.is_(None), first.c.leased_until <= now))
            .order_by(first.c.next_attempt_at)
            .limit(streams)
            .with_for_update(of=events, skip_locked=True)
        )
    ranked = (
        sa.select(
            events.c.id,
            *_STREAM,
            events.c.next_attempt_at,
            events.c.leased_until,
            sa.func.row_number().over(partition_by=_STREAM, order_by=events.c.sequence).label("place"),
        )
        .where(events.c.status == PENDING)
        .subquery("ranked")
    )
    return (
        sa.select(ranked.c.id, ranked.c.aggregate_type, ranked.c.aggregate_id)
        .where(
            ranked.c.place == 1,
            ranked.c.next_attempt_at <= now,
            sa.or_(ranked.c.leased_until.is_(None), ranked.c.leased_until <= now),
        )
        .order_by(ranked.c.next_attempt_at)
        .limit(streams)
    )


class SqlEventQueue:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def claim(self, now: datetime, lease_until: datetime, streams: int) -> list[Delivery]:
        conn = self._session.conn
        heads = (await conn.execute(_heads(now, streams, self._session.dialect))).all()
        claimed: list[Delivery] = []
        for _, aggregate_type, aggregate_id in heads:
            in_stream = sa.and_(
                events.c.status == PENDING,
                events.c.aggregate_type == aggregate_type,
                events.c.aggregate_id == aggregate_id,
            )
            upto = (
                sa.select(events.c.sequence)
                .where(in_stream)
                .order_by(events.c.sequence)
                .offset(PER_STREAM - 1)
                .limit(1)
            ).scalar_subquery()
            leased = (
                await conn.execute(
                    sa.update(events)
                    .where(in_stream, events.c.sequence <= sa.func.coalesce(upto, events.c.sequence))
                    .values(leased_until=lease_until)
                    .returning(events)
                )
            ).mappings()
            rows = sorted(leased, key=lambda row: int(row["sequence"]))
            claimed.extend(Delivery(stored(row), int(row["attempts"])) for row in rows)
        return claimed

    async def delivered(self, event_ids: Sequence[str], now: datetime) -> None:
        if event_ids:
            await self._session.conn.execute(
                sa.update(events)
                .where(events.c.id.in_(list(event_ids)))
                .values(status=DONE, delivered_at=now, leased_until=None)
            )

    async def failed(self, event: StoredEvent, error: str, retry_at: datetime | None) -> None:
        values: dict[str, Any] = {"attempts": events.c.attempts + 1, "last_error": error[:2000], "leased_until": None}
        if retry_at is None:
            values["status"] = DEAD
        else:
            values["next_attempt_at"] = retry_at
        await self._session.conn.execute(sa.update(events).where(events.c.id == event.id).values(**values))

    async def postpone(self, event: StoredEvent, until: datetime) -> None:
        await self._session.conn.execute(
            sa.update(events).where(events.c.id == event.id).values(next_attempt_at=until, leased_until=None)
        )

    async def release(self, event: StoredEvent) -> None:
        await self._session.conn.execute(
            sa.update(events)
            .where(
                events.c.status == PENDING,
                events.c.aggregate_type == event.aggregate_type.value,
                events.c.aggregate_id == event.aggregate_id,
                events.c.leased_until.is_not(None),
            )
            .values(leased_until=None)
        )

    async def backlog(self) -> Backlog:
        conn = self._session.conn
        pending, oldest = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.min(events.c.occurred_at)).where(events.c.status == PENDING)
            )
        ).one()
        dead = await conn.scalar(sa.select(sa.func.count()).where(events.c.status == DEAD))
        oldest_at = as_utc(oldest) if oldest is not None else None
        return Backlog(pending=int(pending), dead=int(dead or 0), oldest_pending_at=oldest_at)

    async def recent(self, limit: int, *, dead_only: bool = False) -> list[QueuedEvent]:
        query = sa.select(events).order_by(events.c.occurred_at.desc(), events.c.id.desc()).limit(limit)
        if dead_only:
            query = query.where(events.c.status == DEAD)
        rows = (await self._session.conn.execute(query)).mappings()
        return [
            QueuedEvent(
                stored(r),
                EventStatus(r["status"]),
                int(r["attempts"]),
                r["last_error"],
                as_utc(r["next_attempt_at"]) if r["next_attempt_at"] is not None else None,
            )
            for r in rows
        ]

    async def retry(self, event_ids: Sequence[str] | None, now: datetime) -> int:
        query = sa.update(events).where(events.c.status == DEAD)
        if event_ids is not None:
            query = query.where(events.c.id.in_(list(event_ids)))
        result = await self._session.conn.execute(
            query.values(status=PENDING, attempts=0, next_attempt_at=now, leased_until=None)
        )
        return int(result.rowcount)

    async def history(
        self, aggregate: tuple[AggregateType, int] | None, after: tuple[str, int, int] | None, limit: int
    ) -> list[StoredEvent]:
        query = sa.select(events).order_by(*_STREAM, events.c.sequence).limit(limit)
        if aggregate is not None:
            query = query.where(events.c.aggregate_type == aggregate[0].value, events.c.aggregate_id == aggregate[1])
        if after is not None:
            query = query.where(sa.tuple_(*_STREAM, events.c.sequence) > sa.tuple_(*(sa.literal(v) for v in after)))
        return [stored(row) for row in (await self._session.conn.execute(query)).mappings()]
