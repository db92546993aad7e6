"""Markets with thousands of holders, built through the use cases (not HTTP), in large batches."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from app.domain.actor import Actor
from app.domain.market import Side
from app.services.accounts import open_accounts
from app.services.markets import CreateMarket, create_market
from app.services.ports import Transactions, UnitOfWork
from app.services.results import MarketView, TradeReceipt
from app.services.trading import Order, trade
from models.tables import positions, transfers

_interactions = itertools.count(1_500_000_000_000_000_000)


def chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def market_with_holders(
    transactions: Transactions,
    guild_id: int,
    holders: Sequence[int],
    *,
    outcomes: Sequence[str] = ("Yes", "No"),
    liquidity: int = 1_000_000,
    stake: Callable[[int], int] = lambda n: 1 + n % 7,
    sell_every: int = 0,
    batch: int = 500,
) -> MarketView:
    """A market whose `holders` (user ids) each bought `stake(n)` points of outcome `n % len(outcomes)`, and
    (with `sell_every`) every so many of them sold part of it back."""
    creator = Actor(guild_id, holders[0] if holders else 1, is_manager=True, interaction_id=next(_interactions))

    async def create(uow: UnitOfWork) -> MarketView:
        market = await create_market(uow, creator, CreateMarket("Who wins?", list(outcomes), liquidity=liquidity))
        await uow.commit()
        return market

    market = await transactions.run(create)
    for group in chunks(holders, 2000):

        async def open_group(uow: UnitOfWork, group: Sequence[int] = group) -> None:
            await open_accounts(uow, await uow.guilds.get(guild_id), {user: None for user in group})
            await uow.commit()

        await transactions.run(open_group)
    n = 0
    for group in chunks(holders, batch):
        orders = []
        for user in group:
            actor = Actor(guild_id, user, interaction_id=next(_interactions))
            orders.append(Order(actor, Side.BUY, market.number, n % len(outcomes), amount=stake(n)))
            if sell_every and n % sell_every == 0:
                again = Actor(guild_id, user, interaction_id=next(_interactions))
                orders.append(Order(again, Side.SELL, market.number, n % len(outcomes), shares=None))
            n += 1
        await _trade(transactions, orders)
    return market


async def _trade(transactions: Transactions, orders: list[Order]) -> None:
    async def apply(uow: UnitOfWork) -> list[TradeReceipt | Exception]:
        filled = await trade(uow, orders)
        await uow.commit()
        return filled

    refused = [r for r in await transactions.run(apply) if not isinstance(r, TradeReceipt)]
    assert not refused, f"seeding trades were refused: {refused[:3]}"


# -- reading the books back, straight from the tables --------------------------------------------------------


async def rows(transactions: Transactions, query: Any) -> list[Any]:
    async def read(uow: UnitOfWork) -> list[Any]:
        return list(await uow.conn.execute(query))

    return await transactions.run(read)


async def holdings(transactions: Transactions, market_id: int) -> dict[int, dict[str, Any]]:
    """Each holder's micro-shares per outcome and flows, read straight from the positions table."""
    held: dict[int, dict[str, Any]] = defaultdict(lambda: {"shares": defaultdict(int), "paid": 0, "out": 0})
    query = sa.select(positions).where(positions.c.market_id == market_id)
    for row in await rows(transactions, query):
        entry = held[row.account_id]
        entry["shares"][row.outcome] += row.shares
        entry["paid"] += row.paid_in
        entry["out"] += row.taken_out
    return held


async def credited(transactions: Transactions, market_id: int, reason: str) -> dict[int, int]:
    query = sa.select(transfers.c.credit_account_id, transfers.c.amount).where(
        transfers.c.market_id == market_id, transfers.c.reason == reason
    )
    credited: dict[int, int] = defaultdict(int)
    for account, amount in await rows(transactions, query):
        credited[account] += amount
    return dict(credited)
