"""Markets with thousands of holders, built through the use cases (not HTTP), in large batches."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from app.domain.actor import Actor
from app.domain.market import Side
from app.services.accounts import open_accounts
from app.services.markets import CreateMarket, create_market
from app.services.ports import Transactions, UnitOfWork
from app.services.results import MarketView, TradeReceipt
from app.services.trading import Order, trade

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
