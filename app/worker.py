"""The worker: delivers the event log to its consumers, at least once, in order within each stream.

`run_once` leases a batch of streams, runs each stream's events through the consumers that handle them (streams
side by side, each stream's events one after another), and records what was delivered. A failed event is
retried after an exponential backoff with full jitter, and after `max_attempts` set aside as dead; the events
behind it in its stream wait for it (and go on once it is dead). `run_forever` drains whenever it is woken
(Postgres NOTIFY, or a nudge) and at least every `poll_seconds`; between batches it gives the tickers (the live
message editor) their turn. It gathers for `gather_seconds` before each batch, so a busy market's stream of
commits (each one a NOTIFY) is delivered in a few batches a second rather than one per commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from app import telemetry
from app.logging import log_fields
from app.services.delivery import Attempt, Batch, Consumer, Delivery, Postpone
from app.services.ports import Transactions, UnitOfWork

logger = logging.getLogger("hunch.worker")


class Ticker(Protocol):
    async def tick(self, now: datetime) -> datetime | None:
        """Do what is due; when something is next due (None: nothing pending)."""


@dataclass(frozen=True)
class WorkerSettings:
    max_attempts: int = 8
    streams: int = 20  # streams leased per batch
    lease: timedelta = timedelta(seconds=60)
    poll_seconds: float = 5.0
    gather_seconds: float = 0.1  # at most ten batches a second: ~40,000 events a second at 20 streams of 200
    first_retry_seconds: float = 1.0
    longest_retry_seconds: float = 300.0
    concurrency: int = 8  # streams delivered at once


@dataclass
class Worker:
    transactions: Transactions
    consumers: Sequence[Consumer]
    clock: Callable[[], datetime]
    settings: WorkerSettings = field(default_factory=WorkerSettings)
    tickers: Sequence[Ticker] = ()
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    jitter: Callable[[float, float], float] = random.uniform

    def retry_delay(self, attempts: int) -> float:
        """Full jitter: anywhere up to the exponential bound, so retries of many events spread out."""
        bound = min(self.settings.longest_retry_seconds, self.settings.first_retry_seconds * 2 ** (attempts - 1))
        return self.jitter(0, bound)

    async def run_once(self) -> int:
        """One batch; how many events were delivered."""
        now = self.clock()

        async def claim(uow: UnitOfWork) -> Batch:
            batch = await uow.queue.claim(now, now + self.settings.lease, self.settings.streams)
            await uow.commit()
            return batch

        batch = await self.transactions.run(claim)
        if not batch.streams and not batch.deliveries:
            return 0
        runs: dict[object, list[Delivery]] = {}
        for delivery in batch.deliveries:  # a stream's events one after another; re-driven ones each alone
            runs.setdefault(delivery.event.id if delivery.redrive else delivery.stream, []).append(delivery)
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def bounded(run: list[Delivery]) -> list[Attempt]:
            async with gate:
                return await self._deliver(run)

        attempts = [a for tried in await asyncio.gather(*map(bounded, runs.values())) for a in tried]
        try:
            for consumer in self.consumers:
                await consumer.flush()
        except Exception:  # not recorded: the leases run out and the batch is delivered again
            logger.exception("a consumer could not write its batch")
            return 0

        async def record(uow: UnitOfWork) -> None:
            await uow.queue.record(batch, attempts, self.clock())
            await uow.commit()

        await self.transactions.run(record)
        return sum(1 for a in attempts if a.delivered)

    async def _deliver(self, run: list[Delivery]) -> list[Attempt]:
        """Deliver a stream's events in order, stopping at the first that fails or waits (a dead one is set
        aside and the stream goes on)."""
        tried: list[Attempt] = []
        for delivery in run:
            event = delivery.event
            consumer_name = ""
            try:
                for consumer in self.consumers:
                    if event.type in consumer.types:
                        consumer_name = consumer.name
                        with telemetry.span("worker.deliver", consumer=consumer.name, type=event.type):
                            await consumer(event)
                        telemetry.count(telemetry.WORKER_DELIVERIES, consumer=consumer.name, outcome="ok")
            except Postpone as wait:
                log_fields(logger, logging.INFO, "event postponed", event_id=event.id, reason=wait.reason)
                telemetry.count(telemetry.WORKER_DELIVERIES, consumer=consumer_name, outcome="postponed")
                tried.append(Attempt(delivery, retry_at=wait.until))
                return tried
            except Exception as error:
                attempts = delivery.attempts + 1
                dead = attempts >= self.settings.max_attempts
                retry_at = None if dead else self.clock() + timedelta(seconds=self.retry_delay(attempts))
                described = f"{type(error).__name__}: {error}"
                telemetry.count(
                    telemetry.WORKER_DELIVERIES, consumer=consumer_name, outcome="dead" if dead else "retry"
                )
                if dead:
                    telemetry.count(telemetry.EVENTS_DEAD)
                log_fields(
                    logger,
                    logging.ERROR if dead else logging.WARNING,
                    "event dead" if dead else "event failed, will retry",
                    event_id=event.id,
                    type=event.type,
                    attempts=attempts,
                    error=described,
                )
                tried.append(Attempt(delivery, error=described, retry_at=retry_at))
                if not dead:
                    return tried
            else:
                tried.append(Attempt(delivery))
        return tried

    async def tick(self) -> datetime | None:
        next_due: datetime | None = None
        for ticker in self.tickers:
            try:
                due = await ticker.tick(self.clock())
            except Exception:
                logger.exception("ticker failed")
                due = self.clock() + timedelta(seconds=self.settings.poll_seconds)
            if due is not None and (next_due is None or due < next_due):
                next_due = due
        return next_due

    async def drain(self, deadline: datetime | None = None) -> int:
        """Deliver batches until nothing is due (or `deadline` passes), then give the tickers a turn; how many
        events were delivered. What `worker --once` and the Lambda worker run."""
        total = 0
        while deadline is None or self.clock() < deadline:
            delivered = await self.run_once()
            total += delivered
            if not delivered:
                break
        await self.tick()
        return total

    async def run_until(
        self, deadline: datetime, linger: float, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> int:
        """Deliver and tick until nothing is due within `linger` seconds, or until `deadline`; how many events
        were delivered. One Lambda invocation: it stays while a live message is about to be redrawn."""
        total = 0
        while self.clock() < deadline:
            delivered = await self.run_once()
            total += delivered
            next_due = await self.tick()
            if delivered:
                continue
            if next_due is None:
                break
            wait = (next_due - self.clock()).total_seconds()
            if wait > linger or next_due >= deadline:
                break
            await sleep(max(0.05, wait))
        return total

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        stopping = asyncio.create_task(_wake_on(stop, self.wake))  # a stop ends the wait at once
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.gather_seconds)
                if stop.is_set():
                    break
                delivered = 0
                try:
                    delivered = await self.run_once()
                except Exception:
                    logger.exception("worker batch failed")
                next_due = await self.tick()
                if delivered:
                    continue  # a backlog: keep draining
                timeout = self.settings.poll_seconds
                if next_due is not None:
                    timeout = max(0.05, min(timeout, (next_due - self.clock()).total_seconds()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=timeout)
                self.wake.clear()
        finally:
            stopping.cancel()


async def _wake_on(stop: asyncio.Event, wake: asyncio.Event) -> None:
    await stop.wait()
    wake.set()
