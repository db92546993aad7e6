from __future__ import annotations

from decimal import Decimal

from app.services import markets, queries, trading
from app.services.views import MarketView, Settlement, TradeReceipt
from tests.integration.helpers import GUILD, act, assert_books_balance, member, query


async def test_market_life(database) -> None:
    alice, bob = member(1), member(2)
    market = await act(
        database,
        alice,
        MarketView,
        lambda uow: markets.create_market(
            uow, alice, markets.CreateMarket(question="Will it rain?", outcomes=["Yes", "No"], liquidity=1000)
        ),
    )
    assert market.number == 1
    receipt = await act(database, bob, TradeReceipt, lambda uow: trading.buy(uow, bob, 1, 0, 100))
    assert receipt.balance == 900
    sold = await act(database, bob, TradeReceipt, lambda uow: trading.sell(uow, bob, 1, 0, Decimal("10")))
    assert sold.points > 0
    settlement = await act(database, alice, Settlement, lambda uow: markets.resolve_market(uow, alice, 1, 0))
    assert settlement.total_paid == int(receipt.shares - Decimal("10"))
    await assert_books_balance(database)
    board = await query(database, lambda uow: queries.leaderboard(uow, GUILD))
    assert board.entries[0].user_id == 2
