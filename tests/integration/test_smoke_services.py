from __future__ import annotations

from decimal import Decimal

from app.services import markets, queries
from app.services.views import MarketView, Settlement
from tests.integration.helpers import GUILD, act, assert_books_balance, member, query, trade


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
    receipt = await trade(database, bob, "buy", 1, 0, amount=100)
    assert receipt.balance == 900
    sold = await trade(database, bob, "sell", 1, 0, shares=Decimal("10"))
    assert sold.points > 0
    settlement = await act(database, alice, Settlement, lambda uow: markets.resolve_market(uow, alice, 1, 0))
    assert settlement.total_paid == int(receipt.shares - Decimal("10"))
    await assert_books_balance(database)
    board = await query(database, lambda uow: queries.leaderboard(uow, GUILD))
    assert board.entries[0].user_id == 2
