"""The batching lines alone, with a fake `apply`: who leads, what goes together, and that nobody hangs."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from app.domain.errors import Unavailable
from app.services.batching import BatchLines


class Recorder:
    def __init__(self, delay: float = 0.01) -> None:
        self.batches: list[list[Any]] = []
        self.delay = delay
        self.gate = asyncio.Event()  # apply waits for it: open unless a test closes it
        self.gate.set()
        self.running = self.most_at_once = 0

    async def apply(self, items: list[Any]) -> Sequence[Any]:
        self.batches.append(list(items))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.gate.wait()
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        return [ValueError(f"bad {i}") if isinstance(i, int) and i < 0 else i * 10 for i in items]


async def three_in_line(lines: BatchLines, rec: Recorder) -> tuple[asyncio.Task[Any], ...]:
    """Item 1 in a batch held at its gate, items 2 and 3 waiting behind it."""
    rec.gate = asyncio.Event()
    leader = asyncio.create_task(lines.submit("m", 1, rec.apply))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(lines.submit("m", 2, rec.apply))
    behind = asyncio.create_task(lines.submit("m", 3, rec.apply))
    await asyncio.sleep(0)
    return leader, waiter, behind


async def test_a_lone_item_goes_at_once_and_later_arrivals_go_together() -> None:
    lines, rec = BatchLines(max_batch=100), Recorder()
    first = asyncio.create_task(lines.submit("m", 1, rec.apply))
    await asyncio.sleep(0)  # the first is in flight
    rest = [asyncio.create_task(lines.submit("m", i, rec.apply)) for i in range(2, 8)]
    assert await asyncio.gather(first, *rest) == [10, 20, 30, 40, 50, 60, 70]
    assert rec.batches == [[1], [2, 3, 4, 5, 6, 7]]


async def test_batches_are_capped_and_keep_arrival_order() -> None:
    lines, rec = BatchLines(max_batch=3), Recorder()
    tasks = [asyncio.create_task(lines.submit("m", i, rec.apply)) for i in range(1, 9)]
    assert await asyncio.gather(*tasks) == [i * 10 for i in range(1, 9)]
    assert rec.batches == [[1], [2, 3, 4], [5, 6, 7], [8]]


async def test_lines_are_independent() -> None:
    lines, rec = BatchLines(max_batch=10), Recorder()
    rec.gate = asyncio.Event()
    held = asyncio.create_task(lines.submit("a", 1, rec.apply))
    await asyncio.sleep(0)
    other = Recorder()
    assert await lines.submit("b", 2, other.apply) == 20  # line b does not wait for line a
    rec.gate.set()
    assert await held == 10


async def test_an_item_error_is_its_own_and_a_batch_failure_is_everyones() -> None:
    lines, rec = BatchLines(max_batch=10), Recorder()
    first = asyncio.create_task(lines.submit("m", 1, rec.apply))
    await asyncio.sleep(0)
    results = await asyncio.gather(
        first, *(lines.submit("m", i, rec.apply) for i in (2, -3, 4)), return_exceptions=True
    )
    assert results[:2] == [10, 20] and isinstance(results[2], ValueError) and results[3] == 40

    async def broken(items: list[Any]) -> Sequence[Any]:
        await asyncio.sleep(0.01)
        raise RuntimeError("the database went away")

    first = asyncio.create_task(lines.submit("m", 1, rec.apply))
    await asyncio.sleep(0)
    failed = await asyncio.gather(*(lines.submit("m", i, broken) for i in (5, 6)), return_exceptions=True)
    assert await first == 10
    assert all(isinstance(f, RuntimeError) for f in failed)
    assert await lines.submit("m", 7, rec.apply) == 70  # the line still works


async def test_a_cancelled_waiter_does_not_stall_the_line() -> None:
    lines, rec = BatchLines(max_batch=10), Recorder()
    leader, waiter, behind = await three_in_line(lines, rec)
    waiter.cancel()
    await asyncio.sleep(0.02)
    assert rec.batches == [[1]]  # the cancelled waiter did not start a second batch beside the first
    rec.gate.set()
    assert await leader == 10 and await asyncio.wait_for(behind, 1) == 30
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert rec.batches == [[1], [3]] and rec.most_at_once == 1


async def test_a_waiter_cancelled_just_as_it_was_handed_the_lead_passes_it_on() -> None:
    lines, rec = BatchLines(max_batch=1), Recorder(delay=0)
    leader, waiter, behind = await three_in_line(lines, rec)
    pass_lead = lines._pass_lead

    def and_cancel_the_new_leader(*args: Any) -> None:
        pass_lead(*args)
        if not waiter.done():
            waiter.cancel()  # handed the lead, cancelled before it could run

    lines._pass_lead = and_cancel_the_new_leader  # type: ignore[method-assign,assignment]
    rec.gate.set()
    assert await leader == 10
    assert await asyncio.wait_for(behind, 1) == 30
    assert waiter.cancelled()
    assert rec.batches == [[1], [3]]


async def test_cancelling_the_item_that_started_a_batch_does_not_fail_the_others_in_it() -> None:
    lines, rec = BatchLines(max_batch=10), Recorder()
    rec.gate = asyncio.Event()
    first = asyncio.create_task(lines.submit("m", 1, rec.apply))
    await asyncio.sleep(0)
    leader = asyncio.create_task(lines.submit("m", 2, rec.apply))  # will start the batch [2, 3]
    mate = asyncio.create_task(lines.submit("m", 3, rec.apply))
    behind = asyncio.create_task(lines.submit("m", 4, rec.apply))
    await asyncio.sleep(0)
    rec.gate.set()
    assert await first == 10
    await asyncio.sleep(0.002)  # batch [2, 3] is in flight
    assert rec.batches == [[1], [2, 3, 4]] or rec.batches[1][:2] == [2, 3]
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await asyncio.wait_for(mate, 1) == 30  # its batch ran to the end
    assert await asyncio.wait_for(behind, 1) == 40
    assert rec.most_at_once == 1


@pytest.mark.parametrize("after", [0, 0.005], ids=["before-it-starts", "mid-apply"])
async def test_a_batch_cut_short_tells_everyone_in_it_so(after: float) -> None:
    """If a batch's own task is cancelled (the event loop is closing), its items get Unavailable (it may or
    may not have applied), never silence, and the line goes on."""
    lines, rec = BatchLines(max_batch=10), Recorder()
    rec.gate = asyncio.Event()
    leader = asyncio.create_task(lines.submit("m", 1, rec.apply))
    await asyncio.sleep(0)
    running = lines._lines["m"].running
    if after:
        await asyncio.sleep(after)
    assert rec.batches == ([[1]] if after else [])
    assert running is not None
    running.cancel()
    with pytest.raises(Unavailable, match="interrupted"):
        await asyncio.wait_for(leader, 1)
    rec.gate.set()
    assert await lines.submit("m", 2, rec.apply) == 20


def test_a_line_left_by_a_thrown_away_event_loop_does_not_hold_up_the_next_loop() -> None:
    lines = BatchLines(8)
    rec = Recorder()
    first = asyncio.new_event_loop()

    async def strand() -> None:  # a batch still in flight when its loop is dropped
        rec.gate = asyncio.Event()
        asyncio.get_running_loop().create_task(lines.submit("m", 1, rec.apply))
        await asyncio.sleep(0.01)

    first.run_until_complete(strand())  # the loop is dropped with that batch still running
    rec.gate.set()
    rec.gate = asyncio.Event()
    rec.gate.set()

    async def next_invocation() -> Any:
        return await asyncio.wait_for(lines.submit("m", 2, rec.apply), timeout=1)

    assert asyncio.run(next_invocation()) == 20
    first.close()
