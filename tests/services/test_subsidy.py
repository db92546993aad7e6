"""Subsidising markets (`app/services/subsidy.py`) on the fakes: a member's points deepen an open market
without moving its prices; what the pool holds at settlement returns to the house, so the books stay exact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.errors import InsufficientBalance, MarketNotOpen, ValidationError
from app.domain.events import MarketSubsidized
from app.domain.ledger import TransferReason
from app.domain.lmsr import required_pool
from app.services.markets import CreateMarket
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, CAROL, GUILD, START, books_balance, fresh, member
from tests.support.fakes import FakeTransactions


async def _market(use_cases: UseCases) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Who wins?", ["Red", "Blue", "Green"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Red", 300)


def _market_row(transactions: FakeTransactions):  # type: ignore[no-untyped-def]
    return next(iter(transactions.books.markets.values()))


async def test_a_subsidy_deepens_the_market_without_moving_its_prices(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    before = await use_cases.show_market(GUILD, 1)
    receipt = await use_cases.subsidize_market(fresh(member(CAROL)), 1, 400)
    assert receipt.amount == 400 and receipt.balance == START - 400 and receipt.liquidity_before == 1000
    assert 1000 < receipt.market.liquidity <= 1400
    after = await use_cases.show_market(GUILD, 1)
    assert max(abs(a - b) for a, b in zip(before.probabilities, after.probabilities, strict=True)) < Decimal("1e-9")
    assert after.shares == before.shares  # what members hold is untouched: the market maker's state moved
    market = _market_row(transactions)
    pool = transactions.books.accounts[market.pool_account_id].balance
    assert pool == 1000 + 300 + 400
    assert required_pool(market.liquidity, market.maker_shares(), market.shares) <= pool
    subsidies = [p.transfer for p in transactions.books.transfers if p.transfer.reason is TransferReason.SUBSIDY]
    assert [t.amount for t in subsidies] == [1000, 400]  # the house's liquidity, then Carol's
    event = transactions.books.events[-1][1]
    assert isinstance(event, MarketSubsidized) and (event.user_id, event.amount) == (CAROL, 400)
    assert [str(action) for _, action, _, _ in transactions.books.audit][-1] == "market.subsidize"
    await books_balance(transactions)


async def test_a_subsidised_market_trades_and_settles_exactly_and_the_subsidy_returns_to_the_house(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    await use_cases.subsidize_market(fresh(member(CAROL)), 1, 500)
    receipt = await use_cases.buy(fresh(member(BOB)), 1, "Blue", 200)
    sold = await use_cases.sell(fresh(member(BOB)), 1, "Red", Decimal("50"))
    assert receipt.points == 200 and sold.points > 0
    held = {p.outcome_label: p.shares for p in (await use_cases.portfolio(GUILD, BOB)).positions}
    settled = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Blue")
    assert settled.total_paid == int(held["Blue"])
    market = _market_row(transactions)
    assert transactions.books.accounts[market.pool_account_id].balance == 0
    house_return = 1000 + 300 + 500 + 200 - sold.points - settled.total_paid
    assert settled.house_return == house_return  # the subsidy included: subsidisers get nothing back
    assert (await use_cases.balance(GUILD, CAROL)).balance == START - 500
    await books_balance(transactions)


async def test_a_subsidy_needs_an_open_market_and_the_points(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    with pytest.raises(InsufficientBalance, match="only have 1,000"):  # a newcomer gets the starting balance
        await use_cases.subsidize_market(fresh(member(99)), 1, 1001)
    with pytest.raises(InsufficientBalance, match="only have 700"):
        await use_cases.subsidize_market(fresh(member(BOB)), 1, 701)
    with pytest.raises(ValidationError, match="whole number of points"):
        await use_cases.subsidize_market(fresh(member(BOB)), 1, 0)
    await use_cases.close_market(fresh(member(ALICE)), 1)
    with pytest.raises(MarketNotOpen, match="only an open market"):
        await use_cases.subsidize_market(fresh(member(BOB)), 1, 10)
    assert (await use_cases.balance(GUILD, BOB)).balance == 700
    await books_balance(transactions)


async def test_a_small_market_keeps_its_prices_to_1e_9_or_the_subsidy_is_refused_and_nothing_moves(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"], liquidity=10))
    await use_cases.buy(fresh(member(BOB)), 1, "No", 5)
    before = await use_cases.show_market(GUILD, 1)
    with pytest.raises(ValidationError, match="without moving its prices: subsidise at least 15 points"):
        await use_cases.subsidize_market(fresh(member(CAROL)), 1, 10)
    assert (await use_cases.balance(GUILD, CAROL)).balance == START
    assert (await use_cases.show_market(GUILD, 1)).liquidity == 10
    receipt = await use_cases.subsidize_market(fresh(member(CAROL)), 1, 15)
    assert receipt.amount == 15 and receipt.balance == START - 15 and receipt.market.liquidity == 20
    after = await use_cases.show_market(GUILD, 1)
    assert max(abs(a - b) for a, b in zip(before.probabilities, after.probabilities, strict=True)) <= Decimal("1e-9")
    market = _market_row(transactions)
    pool = transactions.books.accounts[market.pool_account_id].balance
    assert pool == 10 + 5 + 15 and required_pool(market.liquidity, market.maker_shares(), market.shares) <= pool
    await books_balance(transactions)
