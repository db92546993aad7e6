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
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from app import telemetry
from app.domain.actor import Actor
from app.domain.market import Side
from app.services.accounts import open_accounts
from app.services.batching import BatchLines
from app.services.ports import Transactions, UnitOfWork
from app.services.results import TradeReceipt
from app.services.trading import AccountMissing, Filled, Order, trade

MAX_BATCH = 64
MAX_KNOWN_MEMBERS = 100_000


class TradingDesk:
    def __init__(self, transactions: Transactions, *, max_batch: int = MAX_BATCH) -> None:
        self.transactions = transactions
        self._lines = BatchLines(max_batch)
        # Members known to have an account (accounts are never deleted): their trades skip the check.
        self._members: set[tuple[int, int]] = set()

    async def buy(self, actor: Actor, number: int, outcome: int | str, amount: int | None) -> TradeReceipt:
        """Stake `amount` points on `outcome` (index or label; `None` stakes everything, up to the maximum)."""
        return await self.trade(Order(actor, Side.BUY, number, outcome, amount=amount))

    async def sell(self, actor: Actor, number: int, outcome: int | str, shares: Decimal | None) -> TradeReceipt:
        """Sell `shares` of `outcome` (index or label) back to the market (`None` sells all the member holds)."""
        return await self.trade(Order(actor, Side.SELL, number, outcome, shares=shares))

    async def trade(self, order: Order) -> TradeReceipt:
        """Apply `order` (in a batch with whatever else is waiting for its market); its receipt, or its error."""
        actor = order.actor
        member = (actor.guild_id, actor.user_id)
        if member not in self._members:
            await self._open_account(order)
        try:
            return _receipt(await self._lines.submit(("market", actor.guild_id, order.number), order, self._apply))
        except AccountMissing:  # the account we knew of is gone (a test reset the database)
            self._members.discard(member)
            await self._open_account(order)
        return _receipt(await self._lines.submit(("market", actor.guild_id, order.number), order, self._apply))

    async def _open_account(self, order: Order) -> None:
        actor = order.actor
        opening = (actor.user_id, actor.interaction_id)
        await self._lines.submit(("accounts", actor.guild_id), opening, partial(self._open, actor.guild_id))
        self._know((actor.guild_id, actor.user_id))

    def _know(self, member: tuple[int, int]) -> None:
        if len(self._members) >= MAX_KNOWN_MEMBERS:
            self._members.clear()
        self._members.add(member)

    async def _apply(self, orders: list[Order]) -> list[Filled]:
        telemetry.observe(telemetry.TRADE_BATCH_SIZE, len(orders))
        attempts = 0

        async def apply(uow: UnitOfWork) -> list[Filled]:
            # Redeliveries are rare: the first attempt skips looking for them and counts on the record's
            # primary key instead; a clash rolls the batch back and the next attempt looks.
            nonlocal attempts
            attempts += 1
            filled = await trade(uow, orders, check_records=attempts > 1)
            await uow.commit()
            return filled

        return await self.transactions.run(apply, retry_duplicates=True, hot=True)

    async def _open(self, guild_id: int, members: list[tuple[int, int | None]]) -> list[None]:
        """Open the accounts of those of a guild's members (user id, interaction id) who have none."""

        async def open_missing(uow: UnitOfWork) -> None:
            # Those who have an account (another process opened it meanwhile) are left as they are.
            await open_accounts(uow, await uow.guilds.get(guild_id), dict(members), flush=False)
            # Nobody hears of an opening until their trade commits, durably and after it (the log is written in
            # order, so that commit makes the opening durable too; a crash before it loses the whole opening,
            # and the books still balance). So this commit does not wait for the disk while it holds the house
            # row, which every first-time trader of the server needs.
            await uow.commit(wait_for_disk=False)

        await self.transactions.run(open_missing, retry_duplicates=True, hot=True)
        return [None] * len(members)


def _receipt(result: Any) -> TradeReceipt:
    assert isinstance(result, TradeReceipt)
    return result
