"""The trading desk: a process's trades on one market, applied in batches that share one transaction.

Every trade on a market locks its row, so a busy market takes trades one transaction at a time, and what
bounds it is how long each holds the lock (round trips, the commit, and the wait for the event loop
between them). The desk queues the orders that arrive for a market while one of its transactions is in
flight and applies them together in the next: one lock, one write statement, one commit for the lot
(group commit, as ledgers such as TigerBeetle do). Nobody waits for a timer: a lone order goes at once,
and batches grow only as fast as orders arrive.

Each order still gets its own answer: its receipt, or its own domain error (an order that fails changes
nothing and does not stop the others). A transaction that fails as a whole (lost connection, a bug)
fails every order in it, and none of them applied. Processes and Lambda instances do not share desks:
between them, the market row's lock orders the batches as it orders single trades.

First-time traders' accounts are opened the same way, in batches per guild (each opening takes the
guild's house row, which pays the starting grant), before their orders join the market's line: the
market's transaction never holds the house row.

No background task: the first order on an idle line leads (runs the batch) and, when its own batch is
done, hands the lead to the first order still waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from app.errors import Unavailable
from app.persistence.database import Database
from app.persistence.unit_of_work import UnitOfWork, run_transaction, utcnow
from app.services.common import AccountMissing, accounts, open_member_accounts
from app.services.trading import Filled, Order, trade
from app.services.views import TradeReceipt

logger = logging.getLogger("hunch.trading")
MAX_BATCH = 64
MAX_KNOWN_MEMBERS = 100_000

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


class TradingDesk:
    def __init__(
        self, database: Database, clock: Callable[[], datetime] = utcnow, *, max_batch: int = MAX_BATCH
    ) -> None:
        self.database = database
        self.clock = clock
        self.max_batch = max_batch
        self._lines: dict[Hashable, _Line] = {}
        # Members known to have an account (accounts are never deleted): their trades skip the check.
        self._members: set[tuple[int, int]] = set()

    async def trade(self, order: Order) -> TradeReceipt:
        """Apply `order` (in a batch with whatever else is waiting for its market); its receipt, or its error."""
        actor = order.actor
        member = (actor.guild_id, actor.user_id)
        if member not in self._members:
            await self._open_account(order)
        try:
            return _receipt(await self._in_line(("market", actor.guild_id, order.number), order, self._apply))
        except AccountMissing:  # the account we knew of is gone (a test reset the database)
            self._members.discard(member)
            await self._open_account(order)
        return _receipt(await self._in_line(("market", actor.guild_id, order.number), order, self._apply))

    async def _open_account(self, order: Order) -> None:
        actor = order.actor
        opening = (actor.user_id, actor.interaction_id)
        await self._in_line(("accounts", actor.guild_id), opening, partial(self._open, actor.guild_id))
        self._know((actor.guild_id, actor.user_id))

    def _know(self, member: tuple[int, int]) -> None:
        if len(self._members) >= MAX_KNOWN_MEMBERS:
            self._members.clear()
        self._members.add(member)

    async def _apply(self, orders: list[Order]) -> list[Filled]:
        async def apply(uow: UnitOfWork) -> list[Filled]:
            filled = await trade(uow, orders)
            await uow.commit()
            return filled

        return await run_transaction(self.database, apply, clock=self.clock, retry_integrity=True)

    async def _open(self, guild_id: int, members: list[tuple[int, int | None]]) -> list[None]:
        """Open the accounts of those of a guild's members (user id, interaction id) who have none."""

        async def open_accounts(uow: UnitOfWork) -> None:
            have = await uow.conn.execute(
                sa.select(accounts.c.user_id).where(
                    accounts.c.guild_id == guild_id, accounts.c.user_id.in_([u for u, _ in members])
                )
            )
            known = {int(u) for (u,) in have}
            missing = {u: i for u, i in members if u not in known}
            if missing:
                await open_member_accounts(uow, guild_id, missing.items())

        await run_transaction(self.database, open_accounts, clock=self.clock, retry_integrity=True)
        return [None] * len(members)

    async def _in_line(self, key: Hashable, item: Any, apply: Apply) -> Any:
        """Queue `item` on line `key`; run batches of the line's items through `apply` while leading."""
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
    except Exception as error:  # the whole transaction failed: nothing of it applied
        for ticket in batch:
            _resolve(ticket, error)
    except BaseException:  # cancelled: the commit may or may not have reached the database
        for ticket in batch:
            _resolve(ticket, Unavailable("Your trade was interrupted: check /portfolio to see if it went through."))
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


def _receipt(result: Any) -> TradeReceipt:
    assert isinstance(result, TradeReceipt)
    return result
