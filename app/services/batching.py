"""Group commit: items queued on a line while a batch of that line is being applied go in the next batch.

`BatchLines.submit(key, item, apply)` returns the item's own result (or raises its own error) once a batch
holding it was applied by `apply(items) -> results` (one per item, in order; an exception in the list is
that item's error, an exception raised fails the whole batch). Nobody waits for a timer: a lone item goes
at once, and batches grow only as fast as items arrive. Nothing runs in the background between batches:
the first item on an idle line leads (starts the batch) and, when its batch is done, the lead passes to
the first item still waiting. A batch runs in a task of its own, so cancelling the item that started it
(a client gone, a shutdown) does not fail the others in it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.domain.errors import Unavailable

Apply = Callable[[list[Any]], Awaitable[Sequence[Any]]]
_UNSETTLED: Any = object()


@dataclass(eq=False)
class _Ticket:
    item: Any
    wake: asyncio.Future[None]  # done when the item is settled, or when it is its turn to lead
    result: Any = _UNSETTLED  # its result, or its error
    leading: bool = False  # it was handed the lead

    @property
    def settled(self) -> bool:
        return self.result is not _UNSETTLED


@dataclass(eq=False)
class _Line:
    waiting: deque[_Ticket] = field(default_factory=deque)
    running: asyncio.Task[None] | None = None  # the batch in flight


class BatchLines:
    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._lines: dict[Hashable, _Line] = {}

    async def submit(self, key: Hashable, item: Any, apply: Apply) -> Any:
        """Queue `item` on line `key`; when it is its turn to lead, start the line's next batch."""
        line = self._lines.get(key)
        if line is None or (line.running is not None and line.running.get_loop() is not asyncio.get_running_loop()):
            # New, or left by an event loop that was thrown away with a batch in flight (nothing can settle it).
            line = self._lines[key] = _Line()
        ticket = _Ticket(item, asyncio.get_running_loop().create_future())
        line.waiting.append(ticket)
        if line.running is not None or len(line.waiting) > 1:
            try:
                await ticket.wake
            except asyncio.CancelledError:
                self._abandon(key, line, ticket)
                raise
            if ticket.settled:
                return _unwrap(ticket.result)
        # This ticket is first in line: it goes in the next batch.
        batch = [line.waiting.popleft() for _ in range(min(self.max_batch, len(line.waiting)))]
        line.running = asyncio.create_task(_settle(batch, apply))
        line.running.add_done_callback(lambda _: self._finish(key, line, batch))
        # Waits for the batch without cancelling it when this item is cancelled (asyncio.wait never cancels
        # what it waits for), and without raising when the batch itself was cancelled: the ticket says so.
        await asyncio.wait([line.running])
        return _unwrap(ticket.result)

    def _finish(self, key: Hashable, line: _Line, batch: list[_Ticket]) -> None:
        """The batch's task is done, however it ended (even cancelled before it started)."""
        for ticket in batch:
            if not ticket.settled:
                _resolve(ticket, _interrupted())
        line.running = None
        self._pass_lead(key, line)

    def _pass_lead(self, key: Hashable, line: _Line) -> None:
        if line.waiting:
            nxt = line.waiting[0]
            nxt.leading = True
            if not nxt.wake.done():  # done already: it was just cancelled, and `_abandon` passes the lead on
                nxt.wake.set_result(None)
        elif self._lines.get(key) is line:
            del self._lines[key]

    def _abandon(self, key: Hashable, line: _Line, ticket: _Ticket) -> None:
        """A waiting item was cancelled: leave the line, and pass the lead on if it had been handed it."""
        if ticket in line.waiting:
            line.waiting.remove(ticket)
        if ticket.leading:
            self._pass_lead(key, line)


async def _settle(batch: list[_Ticket], apply: Apply) -> None:
    """Apply the batch and give every ticket its result, whatever happens."""
    try:
        results = await apply([t.item for t in batch])
        for ticket, result in zip(batch, results, strict=True):
            _resolve(ticket, result)
    except Exception as error:  # the whole batch failed
        for ticket in batch:
            _resolve(ticket, error)
    except BaseException:  # the batch's task was cancelled (the loop is closing): whether it applied is unknown
        for ticket in batch:
            _resolve(ticket, _interrupted())
        raise


def _interrupted() -> Unavailable:
    return Unavailable("That was interrupted: check whether it went through before you retry.")


def _resolve(ticket: _Ticket, result: Any) -> None:
    if not ticket.settled:
        ticket.result = result
        if not ticket.wake.done():
            ticket.wake.set_result(None)


def _unwrap(result: Any) -> Any:
    if isinstance(result, BaseException):
        raise result
    return result
