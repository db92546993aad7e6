"""Live market messages: each market's public message follows its state.

When a market is created its message's id is learned (through the creating interaction's token); every change
of the market after that marks the message behind (counted as the events arrive, and written once per batch
when the worker flushes its consumers: a hot market's two hundred trades cost one update, not two hundred).
The worker's tick redraws messages that are behind from
the market as it is then (the latest state only), at most once per message every `interval`, however many
trades arrived: two hundred trades in ten seconds make a handful of edits, the last one with the final prices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from app.domain.events import StoredEvent
from app.domain.price_history import ChartPeriod
from app.services.charts import price_chart
from app.services.delivery import Board, HoldOff, MessageGone, Postpone
from app.services.ports import Transactions, UnitOfWork
from app.services.results import PriceChart
from app.services.rows import Followup, MarketMessage

logger = logging.getLogger("hunch.live")

CHANGES = frozenset(
    {
        "trade.executed",
        "market.closed",
        "market.resolved",
        "market.cancelled",
        "market.unresolved",
        "market.subsidized",
    }
)
EDITS_PER_TICK = 25
RECHECK = timedelta(seconds=5)  # look at every message this often even when this process changed nothing
FAILED_EDIT_HOLD = timedelta(minutes=5)


class LiveMessages:
    name = "live_messages"
    types = frozenset({"market.created"}) | CHANGES
    replayable = True  # it only marks messages behind

    def __init__(
        self, transactions: Transactions, board: Board, interval: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self._transactions = transactions
        self._board = board
        self._interval = interval
        self._clock = clock
        self._behind: dict[int, tuple[datetime, int]] = {}  # market id -> (first change, changes) in this batch
        self._marked = True  # a message may have fallen behind since the last look
        self._next_due: datetime | None = None
        self._looked_at: datetime | None = None

    async def __call__(self, event: StoredEvent) -> None:
        if event.type == "market.created":
            await self._learn_message_id(event)
            return
        since, changes = self._behind.get(event.aggregate_id, (event.occurred_at, 0))
        self._behind[event.aggregate_id] = (min(since, event.occurred_at), changes + 1)

    async def flush(self) -> None:
        """Write what the batch's events changed, in one transaction (the worker calls it before it records the
        batch delivered: if this fails, the events are delivered again)."""
        behind, self._behind = self._behind, {}
        if not behind:
            return

        async def mark(uow: UnitOfWork) -> None:
            for market_id, (since, changes) in sorted(behind.items()):
                await uow.messages.fell_behind(market_id, since, changes)
            await uow.commit()

        await self._transactions.run(mark)
        self._marked = True

    async def _learn_message_id(self, event: StoredEvent) -> None:
        async def find(uow: UnitOfWork) -> tuple[MarketMessage | None, Followup | None]:
            message = await uow.messages.of_market(event.aggregate_id)
            if message is None or message.message_id is not None or message.interaction_id is None:
                return message, None
            return message, await uow.messages.followup(message.interaction_id, uow.now)

        message, followup = await self._transactions.run(find)
        if message is None or message.message_id is not None:
            return
        if followup is None:  # the token expired before the worker got here: the message cannot be found
            await self._forget(message.market_id)
            return
        try:
            message_id = await self._board.message_id(followup)
        except MessageGone:
            await self._forget(message.market_id)
            return
        except HoldOff as wait:  # try again once Discord allows, without counting an attempt
            raise Postpone(self._clock() + timedelta(seconds=wait.seconds), wait.reason) from None

        async def learned(uow: UnitOfWork) -> None:
            await uow.messages.learned(message.market_id, message_id)
            await uow.commit()

        await self._transactions.run(learned)

    async def tick(self, now: datetime) -> datetime | None:
        """Redraw the messages that are behind and due; when the next one is due. Between batches of a busy
        market this only asks the database when something was marked or came due (or every `RECHECK`, for
        what other processes marked)."""
        fresh = self._looked_at is not None and now < self._looked_at + RECHECK
        if not self._marked and fresh and (self._next_due is None or now < self._next_due):
            return self._next_due
        self._marked, self._looked_at = False, now
        self._next_due = await self._redraw_due(now)
        return self._next_due

    async def _redraw_due(self, now: datetime) -> datetime | None:

        async def due(uow: UnitOfWork) -> list[tuple[MarketMessage, Followup | None]]:
            found = await uow.messages.due(now - self._interval, now, EDITS_PER_TICK)
            return [
                (m, await uow.messages.followup(m.interaction_id, now) if m.interaction_id is not None else None)
                for m in found
            ]

        for message, followup in await self._transactions.run(due):
            await self._redraw(message, followup, now)

        async def next_due(uow: UnitOfWork) -> datetime | None:
            return await uow.messages.next_due(self._interval.total_seconds())

        return await self._transactions.run(next_due)

    async def _redraw(self, message: MarketMessage, followup: Followup | None, now: datetime) -> None:
        if message.message_id is None and followup is None:
            await self._forget(message.market_id)
            return

        async def current(uow: UnitOfWork) -> PriceChart:
            return await price_chart(uow, message.guild_id, message.number, ChartPeriod.ALL)

        # `message.changes` was read before the market is: whatever changed after it keeps the message behind.
        chart = await self._transactions.run(current)
        try:
            await self._board.redraw(message, chart, followup)
        except MessageGone:
            await self._forget(message.market_id)
            return
        except HoldOff as wait:
            fields = {"market_id": message.market_id, "reason": wait.reason}
            logger.info("holding off a market message", extra={"fields": fields})
            await self._hold(message.market_id, now + timedelta(seconds=wait.seconds))
            return
        except Exception:  # Discord refused this edit (or a bug): the other messages still get theirs
            logger.exception(
                "a market message could not be redrawn", extra={"fields": {"market_id": message.market_id}}
            )
            await self._hold(message.market_id, now + FAILED_EDIT_HOLD)
            return

        async def edited(uow: UnitOfWork) -> None:
            await uow.messages.edited(message.market_id, now, message.changes)
            await uow.commit()

        await self._transactions.run(edited)

    async def _hold(self, market_id: int, until: datetime) -> None:
        async def hold(uow: UnitOfWork) -> None:
            await uow.messages.hold(market_id, until)
            await uow.commit()

        await self._transactions.run(hold)

    async def _forget(self, market_id: int) -> None:
        async def gone(uow: UnitOfWork) -> None:
            await uow.messages.gone(market_id)
            await uow.commit()

        await self._transactions.run(gone)
