"""A batch of orders on one market in one unit of work (`app/services/trading.py`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain import lmsr
from app.domain.errors import InsufficientBalance, MarketNotOpen, NotFound, ValidationError
from app.domain.market import Side
from app.services.markets import CreateMarket
from app.services.results import TradeReceipt
from app.services.trading import AccountMissing, Order, trade
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, CAROL, GUILD, START, books_balance, fresh, member
from tests.support.fakes import FakeThrottle, FakeTransactions


async def _market(use_cases: UseCases) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"], liquidity=1000))
    for user in (BOB, CAROL):  # their accounts, opened as the desk opens them
        await use_cases.buy(fresh(member(user)), 1, "Yes", 1)


async def _batch(transactions: FakeTransactions, orders: list[Order]) -> list[TradeReceipt | Exception]:
    async def apply(uow):  # type: ignore[no-untyped-def]
        filled = await trade(uow, orders)
        await uow.commit()
        return filled

    return await transactions.run(apply)


async def test_each_order_of_a_batch_trades_at_the_prices_the_one_before_left(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    market = transactions.books.markets[next(iter(transactions.books.markets))]
    state = market.state()
    first = lmsr.buy(state, 0, 100)
    second = lmsr.buy(first.state, 1, 50)
    results = await _batch(
        transactions,
        [
            Order(fresh(member(BOB)), Side.BUY, 1, "yes", amount=100),
            Order(fresh(member(CAROL)), Side.BUY, 1, 1, amount=50),
        ],
    )
    assert [r.shares for r in results if isinstance(r, TradeReceipt)] == [first.shares, second.shares]
    assert results[1].market.probabilities == list(lmsr.prices(second.state))  # type: ignore[union-attr]
    assert transactions.books.markets[market.id].trade_count == market.trade_count + 2
    await books_balance(transactions)


async def test_an_order_that_fails_changes_nothing_and_does_not_stop_the_others(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    before = len(transactions.books.transfers)
    results = await _batch(
        transactions,
        [
            Order(fresh(member(BOB)), Side.BUY, 1, "Yes", amount=10 * START),
            Order(fresh(member(BOB)), Side.SELL, 1, "No", shares=Decimal(1)),
            Order(fresh(member(BOB)), Side.BUY, 1, "Maybe", amount=5),
            Order(fresh(member(CAROL)), Side.BUY, 1, "No", amount=40),
        ],
    )
    assert isinstance(results[0], InsufficientBalance)
    assert isinstance(results[1], NotFound) and "no shares of No" in str(results[1])
    assert isinstance(results[2], ValidationError)
    assert isinstance(results[3], TradeReceipt) and results[3].points == 40
    assert len(transactions.books.transfers) == before + 1
    await books_balance(transactions)


async def test_all_in_stakes_the_balance_up_to_the_maximum_stake(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    [receipt] = await _batch(transactions, [Order(fresh(member(BOB)), Side.BUY, 1, "No", amount=None)])
    assert isinstance(receipt, TradeReceipt) and receipt.points == START - 1 and receipt.balance == 0
    [broke] = await _batch(transactions, [Order(fresh(member(BOB)), Side.BUY, 1, "No", amount=None)])
    assert isinstance(broke, InsufficientBalance)


async def test_a_redelivered_interaction_gets_its_recorded_receipt(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    order = Order(fresh(member(BOB)), Side.BUY, 1, "Yes", amount=100)
    [first] = await _batch(transactions, [order])
    transfers = len(transactions.books.transfers)
    [again, twice] = await _batch(transactions, [order, order])
    assert again == first and twice == first
    assert len(transactions.books.transfers) == transfers


async def test_the_same_interaction_twice_in_one_batch_applies_once(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    order = Order(fresh(member(BOB)), Side.BUY, 1, "Yes", amount=100)
    before = len(transactions.books.transfers)
    first, second = await _batch(transactions, [order, order])
    assert first == second and len(transactions.books.transfers) == before + 1


async def test_members_without_an_account_and_missing_markets(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    [unknown] = await _batch(transactions, [Order(fresh(member(4242)), Side.BUY, 1, "Yes", amount=1)])
    assert isinstance(unknown, AccountMissing) and unknown.user_id == 4242
    [missing] = await _batch(transactions, [Order(fresh(member(BOB)), Side.BUY, 7, "Yes", amount=1)])
    assert isinstance(missing, NotFound) and "no market #7" in str(missing)


async def test_a_closed_market_takes_no_trades(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await _market(use_cases)
    await use_cases.close_market(fresh(member(ALICE)), 1)
    with pytest.raises(MarketNotOpen):
        await use_cases.buy(fresh(member(BOB)), 1, "Yes", 10)


async def test_a_batch_is_for_one_market(transactions: FakeTransactions) -> None:
    orders = [Order(member(BOB), Side.BUY, 1, 0, amount=1), Order(member(BOB), Side.BUY, 2, 0, amount=1)]
    with pytest.raises(ValueError, match="one market"):
        await _batch(transactions, orders)


async def test_trades_are_throttled_and_refusals_change_nothing(
    use_cases: UseCases, transactions: FakeTransactions, throttle: FakeThrottle
) -> None:
    await _market(use_cases)
    throttle.refuse = RuntimeError("slow down")
    before = len(transactions.books.transfers)
    with pytest.raises(RuntimeError):
        await use_cases.sell(fresh(member(BOB)), 1, "Yes", None)
    assert len(transactions.books.transfers) == before
    assert (BOB, "trade") in throttle.calls
    assert (await use_cases.balance(GUILD, BOB)).balance == START - 1
