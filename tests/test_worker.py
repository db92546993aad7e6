"""The worker (`app/worker.py`) draining the real event log: at least once, in order within each stream,
with retries, dead letters, and nothing lost when a worker dies mid-batch."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.domain.actor import Actor
from app.domain.events import StoredEvent
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services.delivery import Postpone
from app.services.markets import CreateMarket
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from app.worker import Worker, WorkerSettings
from models.tables import events
from tests.support.throttle import no_throttle

GUILD = 900000000000000001
_ids = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000))


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """A consumer that remembers what it saw, and fails as told."""

    name = "recorder"
    replayable = True

    def __init__(self, types: set[str] | None = None) -> None:
        self.types = frozenset(types or {"market.created", "trade.executed", "market.closed", "wallet.daily_claimed"})
        self.seen: list[StoredEvent] = []
        self.fail: dict[str, int] = defaultdict(int)  # event type -> failures left
        self.postpone_until: datetime | None = None

    async def flush(self) -> None:
        return None

    async def __call__(self, event: StoredEvent) -> None:
        if self.postpone_until is not None:
            raise Postpone(self.postpone_until, "waiting")
        if self.fail[event.type] > 0:
            self.fail[event.type] -= 1
            raise RuntimeError(f"{event.type} failed")
        self.seen.append(event)


async def _activity(database: Database, markets: int = 2, trades: int = 5) -> None:
    transactions = Transactions(database)
    use_cases = UseCases(transactions, TradingDesk(transactions), no_throttle)
    for n in range(markets):
        await use_cases.create_market(Actor(GUILD, 11, interaction_id=next(_ids)), CreateMarket(f"Q{n}?", ["A", "B"]))
    for n in range(trades):
        for number in range(1, markets + 1):
            await use_cases.buy(Actor(GUILD, 20 + n, interaction_id=next(_ids)), number, n % 2, 5)


def _worker(database: Database, consumer: Recorder, clock: Clock, **settings: Any) -> Worker:
    return Worker(
        Transactions(database, clock),
        [consumer],
        clock,
        WorkerSettings(**settings),
        jitter=lambda low, high: high,  # the longest backoff, so tests can step past it
    )


async def _status(database: Database) -> dict[str, int]:
    async def count(uow: UnitOfWork) -> dict[str, int]:
        backlog = await uow.queue.backlog()
        return {"pending": backlog.pending, "dead": backlog.dead}

    return await Transactions(database).run(count)


async def test_every_event_is_delivered_once_in_order_within_its_stream(database: Database) -> None:
    await _activity(database)
    clock, consumer = Clock(), Recorder()
    worker = _worker(database, consumer, clock, streams=1)
    while await worker.run_once():
        pass
    by_market: dict[int, list[int]] = defaultdict(list)
    for event in consumer.seen:
        if event.aggregate_type == "market":
            by_market[event.aggregate_id].append(event.sequence)
    assert len(by_market) == 2 and all(seq == list(range(1, 7)) for seq in by_market.values())
    assert (await _status(database))["pending"] == 0


async def test_a_failure_is_retried_after_a_backoff_and_the_stream_waits_for_it(database: Database) -> None:
    await _activity(database, markets=1, trades=3)
    clock, consumer = Clock(), Recorder()
    consumer.fail["market.created"] = 2
    worker = _worker(database, consumer, clock, first_retry_seconds=10)
    await worker.run_once()
    assert [e.type for e in consumer.seen if e.aggregate_type == "market"] == []  # the trades wait behind it
    clock.advance(5)
    assert await worker.run_once() == 0  # still waiting out the backoff
    clock.advance(6)  # past the first backoff (10 s): fails again, now for 20 s
    await worker.run_once()
    clock.advance(21)
    while await worker.run_once():
        pass
    market = [e.sequence for e in consumer.seen if e.aggregate_type == "market"]
    assert market == [1, 2, 3, 4]


async def test_after_the_last_attempt_an_event_is_dead_and_its_stream_goes_on(database: Database) -> None:
    await _activity(database, markets=1, trades=2)
    clock, consumer = Clock(), Recorder()
    consumer.fail["market.created"] = 99
    worker = _worker(database, consumer, clock, max_attempts=3, first_retry_seconds=1)
    for _ in range(6):
        await worker.run_once()
        clock.advance(10)
    assert [e.type for e in consumer.seen if e.aggregate_type == "market"] == ["trade.executed"] * 2
    assert (await _status(database))["dead"] == 1

    async def dead(uow: UnitOfWork) -> list[Any]:
        return await uow.queue.recent(10, dead_only=True)

    [found] = await Transactions(database).run(dead)
    assert (found.event.type, found.status, found.attempts) == ("market.created", "dead", 3)
    assert "failed" in (found.last_error or "")

    async def retry(uow: UnitOfWork) -> int:
        count = await uow.queue.retry(None, clock())
        await uow.commit()
        return count

    consumer.fail.clear()
    assert await Transactions(database).run(retry) == 1
    await worker.run_once()
    assert consumer.seen[-1].type == "market.created"  # redriven, after the stream went on
    assert (await _status(database)) == {"pending": 0, "dead": 0}


async def test_postponing_counts_no_attempt(database: Database) -> None:
    await _activity(database, markets=1, trades=0)
    clock, consumer = Clock(), Recorder()
    consumer.postpone_until = clock() + timedelta(seconds=30)
    worker = _worker(database, consumer, clock, max_attempts=1)
    for _ in range(3):
        await worker.run_once()
    assert (await _status(database)) == {"pending": 1, "dead": 0}
    consumer.postpone_until = None
    clock.advance(31)
    await worker.run_once()
    assert [e.type for e in consumer.seen] == ["market.created"]


async def test_a_worker_that_dies_mid_batch_loses_nothing(database: Database) -> None:
    await _activity(database, markets=2, trades=3)
    clock = Clock()

    class Dying(Recorder):
        async def __call__(self, event: StoredEvent) -> None:
            if event.type == "trade.executed":
                raise asyncio.CancelledError  # the process is killed here
            await super().__call__(event)

    with pytest.raises(asyncio.CancelledError):
        await _worker(database, Dying(), clock, lease=timedelta(seconds=30)).run_once()
    survivor = Recorder()
    worker = _worker(database, survivor, clock)
    assert await worker.run_once() == 0  # the dead worker's lease still holds
    clock.advance(31)
    while await worker.run_once():
        pass
    market_sequences = sorted((e.aggregate_id, e.sequence) for e in survivor.seen if e.aggregate_type == "market")
    assert len(market_sequences) == 8  # every market event of both markets, including those seen before the kill
    assert (await _status(database))["pending"] == 0


async def test_two_workers_never_deliver_one_stream_at_once(pg_database: Database) -> None:
    await _activity(pg_database, markets=4, trades=6)
    clock = Clock()
    seen: list[tuple[int, int]] = []
    busy: set[int] = set()

    class Slow(Recorder):
        async def __call__(self, event: StoredEvent) -> None:
            assert event.aggregate_id not in busy or event.aggregate_type != "market", "two workers in one stream"
            busy.add(event.aggregate_id)
            await asyncio.sleep(0.002)
            busy.discard(event.aggregate_id)
            if event.aggregate_type == "market":
                seen.append((event.aggregate_id, event.sequence))

    workers = [_worker(pg_database, Slow(), clock, streams=2) for _ in range(3)]

    async def drain(worker: Worker) -> None:
        for _ in range(30):
            await worker.run_once()

    await asyncio.gather(*(drain(w) for w in workers))
    assert len(seen) == len(set(seen)) == 4 * 7
    for market in {m for m, _ in seen}:
        assert [s for m, s in seen if m == market] == list(range(1, 8))


async def test_a_commit_that_wrote_events_wakes_a_listening_worker(pg_database: Database) -> None:
    from app.persistence.notifications import listen

    wake, stop = asyncio.Event(), asyncio.Event()
    listening = asyncio.create_task(listen(pg_database, wake, stop))
    await asyncio.wait_for(wake.wait(), 5)  # it wakes once on connecting, to catch up
    wake.clear()
    await _activity(pg_database, markets=1, trades=0)
    await asyncio.wait_for(wake.wait(), 5)  # NOTIFY hunch_events, sent by the commit
    stop.set()
    await asyncio.wait_for(listening, 5)


async def test_only_a_commit_that_wrote_events_calls_the_hook(database: Database) -> None:
    calls: list[str] = []

    async def hook() -> None:
        calls.append("woken")

    transactions = Transactions(database, after_events=hook)
    use_cases = UseCases(transactions, TradingDesk(transactions), no_throttle)
    await use_cases.create_market(Actor(GUILD, 11, interaction_id=next(_ids)), CreateMarket("Q?", ["A", "B"]))
    assert calls == ["woken"]
    await use_cases.balance(GUILD, 11)  # a read: nothing committed
    with pytest.raises(Exception, match="no market"):
        await use_cases.buy(Actor(GUILD, 12, interaction_id=next(_ids)), 9, 0, 5)  # refused: rolled back
    assert calls == ["woken"]

    async def failing() -> None:
        raise RuntimeError("the queue is unreachable")

    transactions.after_events = failing  # a failed wake-up never fails the change that was committed
    receipt = await use_cases.buy(Actor(GUILD, 12, interaction_id=next(_ids)), 1, 0, 5)
    assert receipt.points == 5


async def test_run_until_stays_while_something_is_about_to_be_due_and_then_leaves(database: Database) -> None:
    clock = Clock()
    due = [clock.now + timedelta(seconds=2), clock.now + timedelta(seconds=30)]

    class Ticker:
        ticks = 0

        async def tick(self, now: datetime) -> datetime | None:
            Ticker.ticks += 1
            return due[0] if Ticker.ticks == 1 else due[1]

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    worker = Worker(Transactions(database, clock), [Recorder()], clock, tickers=[Ticker()])
    await _activity(database, markets=1, trades=1)
    delivered = await worker.run_until(clock.now + timedelta(seconds=50), linger=10, sleep=sleep)
    assert delivered == 2 and sleeps == [pytest.approx(2.0)]  # stayed for the edit due in 2 s, not for 30 s


async def test_a_batch_of_changes_marks_a_market_message_behind_in_one_write(database: Database) -> None:
    from app.services.consumers.live_messages import LiveMessages
    from app.services.rows import Followup

    transactions = Transactions(database)
    use_cases = UseCases(transactions, TradingDesk(transactions), no_throttle)
    creator = Actor(GUILD, 11, interaction_id=next(_ids), channel_id=5)
    followup = Followup(creator.interaction_id or 0, 1, "token", datetime.now(UTC) + timedelta(minutes=15))
    market = await use_cases.create_market(creator, CreateMarket("Q?", ["A", "B"], channel_id=5, followup=followup))
    for n in range(30):
        await use_cases.buy(Actor(GUILD, 20 + n, interaction_id=next(_ids)), 1, n % 2, 5)

    class Counting:
        def __init__(self) -> None:
            self.runs = 0

        async def run(self, work: Any, **kwargs: Any) -> Any:
            self.runs += 1
            return await transactions.run(work, **kwargs)

    class NoBoard:
        async def message_id(self, followup: Followup) -> int:
            return 4242

    counting = Counting()
    live = LiveMessages(counting, NoBoard(), timedelta(seconds=3), Clock())  # type: ignore[arg-type]
    worker = Worker(transactions, [live], Clock())
    await worker.drain()
    assert counting.runs == 3  # find the message's token, learn its id, then one write for the 30 trades

    async def message(uow: UnitOfWork) -> Any:
        return await uow.messages.of_market(market.id)

    found = await transactions.run(message)
    assert found is not None and (found.message_id, found.changes) == (4242, 30)


async def test_events_written_while_the_worker_marks_streams_done_are_never_stranded(pg_database: Database) -> None:
    await _activity(pg_database, markets=2, trades=0)
    transactions = Transactions(pg_database)
    use_cases = UseCases(transactions, TradingDesk(transactions), no_throttle)
    consumer = Recorder()
    worker = Worker(Transactions(pg_database), [consumer], lambda: datetime.now(UTC))  # real time: writers use it
    writing = True

    async def write(member: int) -> None:
        for n in range(25):
            await use_cases.buy(Actor(GUILD, member, interaction_id=next(_ids)), 1 + n % 2, n % 2, 1)

    async def deliver() -> None:
        while writing:
            await worker.run_once()
            await asyncio.sleep(0)

    delivering = asyncio.create_task(deliver())
    await asyncio.gather(*(write(100 + m) for m in range(4)))
    writing = False
    await delivering
    await worker.drain()

    async def log(uow: UnitOfWork) -> set[tuple[str, int, int]]:
        query = sa.select(events.c.aggregate_type, events.c.aggregate_id, events.c.sequence)
        return {tuple(row) for row in await uow.conn.execute(query)}  # type: ignore[misc]

    written = await transactions.run(log)
    seen = {(e.aggregate_type.value, e.aggregate_id, e.sequence) for e in consumer.seen}
    assert {w for w in written if w[0] == "market"} <= seen
    assert await _status(pg_database) == {"pending": 0, "dead": 0}
