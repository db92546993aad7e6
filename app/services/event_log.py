"""The event log as an operator works with it (`python -m app events …`): the lag, the dead events, re-driving
them, and rebuilding projections by replaying the log through the consumers that allow it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from app.domain.events import AggregateType, StoredEvent
from app.services.delivery import Backlog, Consumer, QueuedEvent
from app.services.ports import Transactions, UnitOfWork

REPLAY_PAGE = 500


async def backlog(uow: UnitOfWork) -> Backlog:
    return await uow.queue.backlog()


async def recent(uow: UnitOfWork, limit: int, *, dead_only: bool = False) -> list[QueuedEvent]:
    return await uow.queue.recent(limit, dead_only=dead_only)


async def retry_dead(uow: UnitOfWork, event_ids: Sequence[str] | None, now: datetime) -> int:
    """Put dead events (these, or every one) back in line, due now; how many."""
    count = await uow.queue.retry(event_ids, now)
    await uow.commit()
    return count


class NotReplayable(ValueError):
    """A consumer asked for by name does not exist, or has effects outside Hunch's tables (it moves points or
    posts messages), so replaying the log through it would do those things again."""


def replayable(consumers: Sequence[Consumer], names: Sequence[str] | None) -> list[Consumer]:
    allowed = [c for c in consumers if c.replayable]
    if names is None:
        return allowed
    known = {c.name: c for c in consumers}
    for name in names:
        if name not in known:
            raise NotReplayable(f"no consumer is called {name!r} (there are: {', '.join(sorted(known))})")
        if not known[name].replayable:
            raise NotReplayable(f"{name} has effects beyond Hunch's own tables; it cannot be replayed")
    return [known[name] for name in names]


async def replay(
    transactions: Transactions,
    consumers: Sequence[Consumer],
    aggregate: tuple[AggregateType, int] | None = None,
) -> int:
    """Run the log (or one aggregate's stream), in stream order, through `consumers` again; how many events.

    Consumers are idempotent, so a replay over a projection that is up to date changes nothing; over one that
    was lost or is new, it rebuilds it. Reads a page at a time: the log may be long."""
    after: tuple[str, int, int] | None = None
    total = 0
    while True:

        async def page(uow: UnitOfWork, after: tuple[str, int, int] | None = after) -> list[StoredEvent]:
            return await uow.queue.history(aggregate, after, REPLAY_PAGE)

        events = await transactions.run(page)
        for event in events:
            for consumer in consumers:
                if event.type in consumer.types:
                    await consumer(event)
        for consumer in consumers:
            await consumer.flush()
        total += len(events)
        if len(events) < REPLAY_PAGE:
            return total
        last = events[-1]
        after = (last.aggregate_type.value, last.aggregate_id, last.sequence)
