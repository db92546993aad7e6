"""What the worker needs to deliver the event log: a queue over the log, and consumers that react to events.

Delivery is at least once, in order within each aggregate's stream: a consumer may see an event again (a
worker that died before it recorded the delivery), so every consumer is idempotent. A consumer that raises
gets the event again later, with exponential backoff and jitter; after the most attempts allowed the event
is set aside as dead (the rest of its stream goes on) for an operator to retry. A consumer that cannot work
for a while (Discord's API is down) raises `Postpone`, which waits without counting an attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.domain.events import AggregateType, EventStatus, StoredEvent
from app.services.record_results import SeasonStart
from app.services.results import MarketView, PriceChart, Settlement, Unresolved
from app.services.rows import Followup, MarketMessage


class Postpone(Exception):
    """Try this event again at `until`, without counting an attempt."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Delivery:
    """A leased event, and how many times delivering it failed before. A re-driven dead event (an operator
    asked) is delivered on its own, outside its stream's order."""

    event: StoredEvent
    attempts: int
    redrive: bool = False

    @property
    def stream(self) -> tuple[AggregateType, int]:
        return (self.event.aggregate_type, self.event.aggregate_id)


@dataclass(frozen=True, slots=True)
class Batch:
    """What a worker leased: whole streams (with their undelivered events, in order) and re-driven dead events."""

    streams: tuple[tuple[AggregateType, int], ...]
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class Attempt:
    """What became of one delivery: delivered (no `error`, no `retry_at`), postponed (no `error`, `retry_at`),
    failed to be tried again at `retry_at`, or dead (an `error`, no `retry_at`)."""

    delivery: Delivery
    error: str | None = None
    retry_at: datetime | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.retry_at is None


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """An event and where its delivery stands, as an operator sees it."""

    event: StoredEvent
    status: EventStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class Backlog:
    pending: int
    dead: int
    oldest_pending_at: datetime | None  # the lag: how long the oldest undelivered event has waited


class EventQueue(Protocol):
    """The event log seen as work: each stream is delivered in order, from where its delivery stands."""

    async def claim(self, now: datetime, lease_until: datetime, streams: int) -> Batch:
        """Lease up to `streams` streams whose head is due and not leased, and the dead events re-driven and due;
        their undelivered events, in order within each stream."""

    async def record(self, batch: Batch, attempts: Sequence[Attempt], now: datetime) -> None:
        """What became of a batch: each stream moves on past what was delivered (and past its head if that
        died), waits for its head's retry, or is done; every lease is given up. `attempts` are what was tried
        (a stream stops at its first failure or postponement)."""

    async def backlog(self) -> Backlog: ...

    async def recent(self, limit: int, *, dead_only: bool = False) -> list[QueuedEvent]:
        """The newest events (or the newest dead ones), newest first."""

    async def retry(self, event_ids: Sequence[str] | None, now: datetime) -> int:
        """Put dead events (these, or all) back to pending, due now; how many."""

    async def history(
        self, aggregate: tuple[AggregateType, int] | None, after: tuple[str, int, int] | None, limit: int
    ) -> list[StoredEvent]:
        """The log in stream order, from after `after` (aggregate type, id, sequence): what a replay reads."""


class MessageGone(Exception):
    """The message was deleted, or can no longer be reached: stop updating it."""


class HoldOff(Exception):
    """Discord asked us to wait (a rate limit, an outage, the limit on edits of old messages)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


class Board(Protocol):
    """Discord, as the worker talks to it: the messages Hunch keeps up to date or posts by itself."""

    async def message_id(self, followup: Followup) -> int:
        """The id of the message an interaction posted as its reply."""

    async def redraw(self, message: MarketMessage, chart: PriceChart, followup: Followup | None) -> None:
        """Show the market as it is now on its message, with its chart (`MessageGone`, `HoldOff`)."""

    async def post_settlement(self, channel_id: int, settlement: Settlement, nonce: str) -> bool:
        """Post a settlement's summary in a channel; False when Hunch cannot post by itself (no bot token)."""

    async def post_closing_soon(self, channel_id: int, market: MarketView, nonce: str) -> bool: ...

    async def post_unresolved(self, channel_id: int, unresolved: Unresolved, nonce: str) -> bool: ...

    async def post_refund_reminder(
        self, channel_id: int, market: MarketView, creator_id: int, refund_at: datetime, nonce: str
    ) -> bool:
        """Remind the creator (pinged, and nobody else) that their market will be refunded at `refund_at`."""

    async def finish(self, followup: Followup, outcome: Settlement | Unresolved | str) -> None:
        """Finish an acknowledged (deferred) reply with the settlement (or unresolve), or why it could not be done."""

    async def finish_season(self, followup: Followup, outcome: SeasonStart | str) -> None:
        """Finish an acknowledged (deferred) season start with its summary, or with why it could not be done."""


class Consumer(Protocol):
    """Reacts to events of some types; idempotent. It may keep what a batch's events change and write it in
    `flush`, which the worker calls before it records the batch delivered."""

    name: str
    types: frozenset[str]
    replayable: bool  # rebuilding from the log is safe (it only updates Hunch's own tables)

    async def __call__(self, event: StoredEvent) -> None: ...

    async def flush(self) -> None: ...
