"""Subsidies on the real databases: the market maker's shift stored and read back exactly, prices unchanged to
1e-9, the pool covering the worst case, and the market trading and settling exactly afterwards."""

from __future__ import annotations

from decimal import Decimal

from app.domain.lmsr import required_pool
from app.domain.market import Side
from app.persistence.database import Database
from app.services import queries, settlement, subsidy
from app.services.results import Settlement, SubsidyReceipt
from tests.persistence.helpers import GUILD, act, assert_books_balance, member, query, trade
from tests.support.seeding import market_with_holders


async def test_a_subsidy_keeps_prices_covers_the_worst_case_and_settles_exactly(database: Database) -> None:
    from app.persistence.unit_of_work import Transactions

    market = await market_with_holders(
        Transactions(database), GUILD, range(1000, 1400), outcomes=("Red", "Green", "Blue"), liquidity=300
    )
    number = market.number
    before = await query(database, lambda uow: queries.show_market(uow, GUILD, number))
    carol = member(7)
    receipt = await act(database, carol, SubsidyReceipt, lambda uow: subsidy.subsidize_market(uow, carol, number, 900))
    after = await query(database, lambda uow: queries.show_market(uow, GUILD, number))
    assert max(abs(a - b) for a, b in zip(before.probabilities, after.probabilities, strict=True)) < Decimal("1e-9")
    assert after.liquidity == receipt.market.liquidity > 300 and after.shares == before.shares

    async def books(uow):  # type: ignore[no-untyped-def]
        row = await uow.markets.get(GUILD, number)
        return row, await uow.accounts.balance(row.pool_account_id)

    row, pool = await query(database, books)
    assert row.shift and min(row.shift) == 0  # stored, and read back, as the market maker left it
    assert required_pool(row.liquidity, row.maker_shares(), row.shares) <= pool
    await assert_books_balance(database)  # verify-ledger checks the same worst case

    for user, outcome, amount in ((1001, 2, 400), (1002, 0, 50), (7, 1, 80)):
        await trade(database, member(user), Side.BUY, number, outcome, amount=amount)
    await trade(database, member(1001), Side.SELL, number, 2)
    await assert_books_balance(database)
    manager = member(1, admin=True)
    settled = await act(
        database, manager, Settlement, lambda uow: settlement.resolve_market(uow, manager, number, "Blue")
    )
    assert settled.total_paid > 0
    await assert_books_balance(database)
