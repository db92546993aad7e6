"""The trading desk: a process's concurrent orders on a market go in batches (`app/services/trading_desk.py`)."""

from __future__ import annotations

import asyncio

from app.domain.ledger import TransferReason
from app.domain.market import Side
from app.services.markets import CreateMarket
from app.services.trading import Order
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, GUILD, START, books_balance, fresh, member
from tests.support.fakes import FakeTransactions
from tests.support.throttle import no_throttle


async def test_a_first_time_trader_gets_an_account_with_the_starting_grant(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    receipt = await use_cases.buy(fresh(member(501)), 1, "Yes", 10)
    assert receipt.balance == START - 10
    grants = [p for p in transactions.books.transfers if p.transfer.reason is TransferReason.STARTING_GRANT]
    assert len(grants) == 1 and grants[0].transfer.amount == START
    await books_balance(transactions)


async def test_concurrent_orders_share_batches_and_each_gets_its_own_answer(transactions: FakeTransactions) -> None:
    desk = TradingDesk(transactions)
    await UseCases(transactions, desk, no_throttle).create_market(
        fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"])
    )
    traders = [fresh(member(600 + n)) for n in range(20)]
    runs_before = transactions.runs
    orders = [Order(t, Side.BUY, 1, n % 2, amount=10 + n) for n, t in enumerate(traders)]
    orders.append(Order(fresh(member(700)), Side.SELL, 1, 0, shares=None))  # holds nothing: refused alone
    results = await asyncio.gather(*(desk.trade(o) for o in orders), return_exceptions=True)
    assert [r.points for r in results[:-1]] == [10 + n for n in range(20)]  # type: ignore[union-attr]
    assert isinstance(results[-1], Exception) and "no shares" in str(results[-1])
    # 21 first-time traders' accounts and 21 orders took far fewer transactions than one each.
    assert transactions.runs - runs_before < 21
    market = next(iter(transactions.books.markets.values()))
    assert market.trade_count == 20
    await books_balance(transactions)


async def test_a_desk_reopens_an_account_it_knew_when_it_is_gone(transactions: FakeTransactions) -> None:
    desk = TradingDesk(transactions)
    await UseCases(transactions, desk, no_throttle).create_market(fresh(member(ALICE)), CreateMarket("R?", ["A", "B"]))
    await desk.buy(fresh(member(800)), 1, 0, 5)
    account = transactions.books.member(GUILD, 800)
    assert account is not None
    del transactions.books.accounts[account.id]  # as if the database had been reset
    transactions.books.transfers = [
        p for p in transactions.books.transfers if account.id not in (p.transfer.credit, p.transfer.debit)
    ]
    receipt = await desk.buy(fresh(member(800)), 1, 0, 5)
    assert receipt.balance == START - 5
