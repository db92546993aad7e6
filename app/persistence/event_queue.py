"""The event log as the worker's queue (`app.services.delivery.EventQueue`).

Delivery is tracked per stream: `event_streams.delivered_sequence` is how far a stream has been delivered,
`event_pending` holds the streams with more to deliver (written by the outbox with the events), `event_dead`
the events that exhausted their attempts. A worker leases `event_pending` rows (`FOR UPDATE SKIP LOCKED` on
Postgres, so two workers never lease one stream; SQLite runs one writer at a time) and reads each stream's
undelivered events off the stream index. Nothing is locked while consumers work: a lease that runs out (its
worker died) makes the stream claimable again, from its cursor.

Moving a stream's cursor locks its `event_streams` row, the row a writer bumps first, so a stream is never
marked done while a writer is adding to it.

On Postgres a batch's streams are leased, read and moved on together (`app.persistence.event_streams`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.events import AggregateType
from app.persistence.event_operations import SqlEventOperations
from app.persistence.event_streams import (
    PER_STREAM,
    Stream,
    due_again,
    moved_cursors,
    same_stream,
    stored,
    stream_is,
    streams_in,
    undelivered,
)
from app.services.delivery import Attempt, Batch, Delivery
from models.schema import event_dead, event_pending, event_streams, events

REDRIVES = 20  # re-driven dead events in a batch
ERROR_LENGTH = 2000


class SqlEventQueue(SqlEventOperations):
    """What the worker does with the queue (what operators ask of it is `SqlEventOperations`)."""

    @property
    def _postgres(self) -> bool:
        return self._session.dialect == "postgresql"

    async def claim(self, now: datetime, lease_until: datetime, streams: int) -> Batch:
        conn = self._session.conn
        due = (
            sa.select(event_pending.c.aggregate_type, event_pending.c.aggregate_id, event_pending.c.attempts)
            .add_columns(event_streams.c.delivered_sequence)
            .join(event_streams, same_stream(event_streams, event_pending))
            .where(
                event_pending.c.next_attempt_at <= now,
                sa.or_(event_pending.c.leased_until.is_(None), event_pending.c.leased_until <= now),
            )
            .order_by(event_pending.c.next_attempt_at)
            .limit(streams)
        )
        if self._postgres:
            due = due.with_for_update(of=event_pending, skip_locked=True)
        heads = [
            (str(t), int(i), int(attempts), int(delivered)) for t, i, attempts, delivered in await conn.execute(due)
        ]
        leased = [(AggregateType(t), i) for t, i, _, _ in heads]
        deliveries = await (
            self._lease_together(heads, lease_until) if self._postgres else self._lease(heads, lease_until)
        )
        deliveries.extend(await self._claim_redrives(now, lease_until))
        return Batch(tuple(leased), tuple(deliveries))

    async def _lease(self, heads: list[tuple[str, int, int, int]], lease_until: datetime) -> list[Delivery]:
        conn = self._session.conn
        deliveries: list[Delivery] = []
        for aggregate_type, aggregate_id, attempts, delivered in heads:
            stream = (AggregateType(aggregate_type), aggregate_id)
            await conn.execute(
                sa.update(event_pending).where(stream_is(event_pending, stream)).values(leased_until=lease_until)
            )
            rows = (
                await conn.execute(
                    sa.select(events)
                    .where(stream_is(events, stream), events.c.sequence > delivered)
                    .order_by(events.c.sequence)
                    .limit(PER_STREAM)
                )
            ).mappings()
            for place, row in enumerate(rows):
                deliveries.append(Delivery(stored(row), attempts if place == 0 else 0))
        return deliveries

    async def _lease_together(self, heads: list[tuple[str, int, int, int]], lease_until: datetime) -> list[Delivery]:
        if not heads:
            return []
        conn = self._session.conn
        await conn.execute(
            sa.update(event_pending)
            .where(streams_in(event_pending, [(t, i) for t, i, _, _ in heads]))
            .values(leased_until=lease_until)
        )
        params = {"heads_t": [h[0] for h in heads], "heads_i": [h[1] for h in heads], "heads_d": [h[3] for h in heads]}
        attempts = {(t, i): tried for t, i, tried, _ in heads}
        deliveries: list[Delivery] = []
        for row in (await conn.execute(undelivered(), params)).mappings():  # by head, then by sequence
            stream = (row["aggregate_type"], int(row["aggregate_id"]))
            deliveries.append(Delivery(stored(row), attempts.pop(stream, 0)))  # the head carries the attempts
        return deliveries

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
        moves = [
            (stream, *await self._delivered_upto(tried, now))
            for stream, tried in sorted(by_stream.items(), key=lambda item: (item[0][0].value, item[0][1]))
        ]
        if self._postgres:
            await self._moved_on_together(moves, now)
        else:
            for stream, upto, stop in moves:
                await self._moved_on(stream, upto, stop, now)

    async def _delivered_upto(self, tried: list[Attempt], now: datetime) -> tuple[int, Attempt | None]:
        """How far a stream was delivered, and the attempt it stopped at (its dead events set aside)."""
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
        return upto, stop

    async def _moved_on(self, stream: Stream, upto: int, stop: Attempt | None, now: datetime) -> None:
        conn = self._session.conn
        larger = sa.func.greatest if self._postgres else sa.func.max
        # Locks the stream's row (a writer adding to it commits first) and reads its latest state.
        moved = (
            await conn.execute(
                sa.update(event_streams)
                .where(stream_is(event_streams, stream))
                .values(delivered_sequence=larger(event_streams.c.delivered_sequence, upto))
                .returning(event_streams.c.last_sequence, event_streams.c.delivered_sequence)
            )
        ).first()
        if stop is not None:
            await self._stopped(stream, stop)
        elif moved is not None and moved[1] >= moved[0]:  # caught up
            await conn.execute(sa.delete(event_pending).where(stream_is(event_pending, stream)))
        else:  # more to deliver (written meanwhile, or more than a batch): due now, from a fresh head
            await conn.execute(due_again(stream_is(event_pending, stream), now))

    async def _moved_on_together(self, moves: list[tuple[Stream, int, Attempt | None]], now: datetime) -> None:
        """`_moved_on` for all of a batch's streams at once: their rows locked in the order writers take them."""
        if not moves:
            return
        conn = self._session.conn
        keys = [stream for stream, _, _ in moves]
        order = (event_streams.c.aggregate_type, event_streams.c.aggregate_id)
        locking = sa.select(*order).where(streams_in(event_streams, keys)).order_by(*order).with_for_update()
        await conn.execute(locking)
        params = {"moved_t": [s[0].value for s in keys], "moved_i": [s[1] for s in keys]}
        params["moved_upto"] = [upto for _, upto, _ in moves]
        moved = {
            (t, int(i)): (int(last), int(done)) for t, i, last, done in await conn.execute(moved_cursors(), params)
        }
        caught_up, again = [], []
        for stream, _, stop in moves:
            found = moved.get((stream[0].value, stream[1]))
            if stop is not None:
                await self._stopped(stream, stop)
            elif found is not None and found[1] >= found[0]:
                caught_up.append(stream)
            else:
                again.append(stream)
        if caught_up:
            await conn.execute(sa.delete(event_pending).where(streams_in(event_pending, caught_up)))
        if again:
            await conn.execute(due_again(streams_in(event_pending, again), now))

    async def _stopped(self, stream: Stream, stop: Attempt) -> None:
        """A stream whose head failed or was postponed waits for it: its retry time, its attempts, its error."""
        failed = stop.error is not None
        await self._session.conn.execute(
            sa.update(event_pending)
            .where(stream_is(event_pending, stream))
            .values(
                leased_until=None,
                next_attempt_at=stop.retry_at,
                attempts=stop.delivery.attempts + (1 if failed else 0),
                last_error=stop.error[:ERROR_LENGTH] if stop.error is not None else None,
            )
        )

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
