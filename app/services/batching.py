"""Group commit: items queued on a line while a batch of that line is being applied go in the next batch.

`BatchLines.submit(key, item, apply)` returns the item's own result (or raises its own error) once a batch
holding it was applied by `apply(items) -> results` (one per item, in order; an exception in the list is
that item's error, an exception raised fails the whole batch). Nobody waits for a timer: a lone item goes
at once, and batches grow only as fast as items arrive. There is no background task either: the first
item on an idle line leads (runs the batch) and, when its batch is done, hands the lead to the first item
still waiting.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.errors import Unavailable

Apply = Callable[[list[Any]], Awaitable[Sequence[Any]]]
_UNSETTLED: Any = object()


@dataclass(eq=False)
class _Ticket:
    item: Any
    wake: asyncio.Future[None]  # done when the item is settled, or when it is its turn to lead
    result: Any = _UNSETTLED  # its result, or its error

    @property
    def settled(self) -> bool:
        return self.result is not _UNSETTLED


@dataclass(eq=False)
class _Line:
    waiting: deque[_Ticket] = field(default_factory=deque)
    busy: bool = False


class BatchLines:
    def __init__(self, max_batch: int) -> None:
        self.max_batch = max_batch
        self._lines: dict[Hashable, _Line] = {}

    async def submit(self, key: Hashable, item: Any, apply: Apply) -> Any:
        """Queue `item` on line `key`; while leading, run the line's next batch through `apply`."""
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = _Line()
        ticket = _Ticket(item, asyncio.get_running_loop().create_future())
        line.waiting.append(ticket)
        if line.busy:
            try:
                await ticket.wake
            except asyncio.CancelledError:
                self._abandon(key, line, ticket)
                raise
            if ticket.settled:
                return _unwrap(ticket.result)
        line.busy = True
        try:
            # This ticket is first in line: it goes in the next batch.
            batch = [line.waiting.popleft() for _ in range(min(self.max_batch, len(line.waiting)))]
            await _settle(batch, apply)
        finally:
            self._pass_lead(key, line)
        return _unwrap(ticket.result)

    def _pass_lead(self, key: Hashable, line: _Line) -> None:
        while line.waiting:
            nxt = line.waiting[0]
            if not nxt.settled:
                if not nxt.wake.done():
                    nxt.wake.set_result(None)
                return
            line.waiting.popleft()
        line.busy = False
        if self._lines.get(key) is line:
            del self._lines[key]

    def _abandon(self, key: Hashable, line: _Line, ticket: _Ticket) -> None:
        """A waiting item was cancelled: leave the line, and pass the lead on if it had just been handed it."""
        handed_lead = bool(line.waiting) and line.waiting[0] is ticket and ticket.wake.done()
        if ticket in line.waiting:
            line.waiting.remove(ticket)
        if handed_lead:
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
    except BaseException:  # cancelled: whether the batch was applied is unknown
        for ticket in batch:
            _resolve(ticket, Unavailable("That was interrupted: check whether it went through before you retry."))
        raise


def _resolve(ticket: _Ticket, result: Any) -> None:
    if not ticket.settled:
        ticket.result = result
        if not ticket.wake.done():
            ticket.wake.set_result(None)


def _unwrap(result: Any) -> Any:
    if isinstance(result, BaseException):
        raise result
    return result
