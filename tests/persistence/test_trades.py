"""Trades on both databases, through the trading desk: orders that arrive together share one transaction
(one locked book, one write of positions, the market and the trade log), and each still gets its own
receipt or its own error, exactly as if it had run alone in that order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.domain import lmsr
from app.domain.errors import InsufficientBalance, NotFound, ValidationError
from app.domain.market import Side
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import markets, trading, wallet
from app.services.results import DailyClaim, MarketView, TradeReceipt
from app.services.trading_desk import TradingDesk
from models.tables import Trade, accounts, interaction_records, transfers
from tests.persistence.helpers import act, assert_books_balance, fresh, member, query

trades = Trade.__table__
CREATOR = member(1)
START = 1000


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The size of every batch the desk applied."""
    sizes: list[int] = []
    original = trading.trade

    async def counting(uow: UnitOfWork, orders: Any, **kwargs: Any) -> Any:
        sizes.append(len(orders))
        return await original(uow, orders, **kwargs)

    monkeypatch.setattr("app.services.trading_desk.trade", counting)
    yield sizes


async def create(database: Database, liquidity: int = 500) -> MarketView:
    cmd = markets.CreateMarket(question="Batch?", outcomes=["Yes", "No", "Maybe"], liquidity=liquidity)
    return await act(database, CREATOR, MarketView, lambda uow: markets.create_market(uow, CREATOR, cmd))


def order(user: int, side: Side, outcome: int | str, *, amount: int | None = None, shares: Any = None) -> trading.Order:
    return trading.Order(fresh(member(user)), side, 1, outcome, amount=amount, shares=shares)


async def member_balance(database: Database, user: int) -> int:
    statement = sa.select(accounts.c.balance).where(accounts.c.user_id == user)
    return int(await query(database, lambda uow: uow.conn.scalar(statement)))


async def count(database: Database, table: sa.Table) -> int:
    statement = sa.select(sa.func.count()).select_from(table)
    return int(await query(database, lambda uow: uow.conn.scalar(statement)))


async def test_orders_arriving_together_share_a_transaction_and_keep_their_own_answers(
    database: Database, batch_sizes: list[int]
) -> None:
    await create(database)
    desk = TradingDesk(Transactions(database))
    for user in (2, 3, 4):  # known members, so their orders go straight to the market's line
        await act(database, member(user), DailyClaim, lambda uow, u=user: wallet.claim_daily(uow, member(u)))
    twice = order(2, Side.BUY, "Yes", amount=50)
    orders = [
        order(2, Side.BUY, 0, amount=100),
        order(3, Side.BUY, "No", amount=2000),  # more than member 3 has: refused, alone
        order(3, Side.BUY, "no", amount=200),
        twice,
        twice,  # the same interaction delivered twice: applied once, the same answer
        order(4, Side.SELL, "Yes", shares=Decimal(1)),  # holds nothing: refused, alone
        order(4, Side.BUY, "Purple", amount=5),  # no such outcome: refused, alone
        order(2, Side.SELL, 0, shares=Decimal("10.5")),
        order(4, Side.BUY, 2, amount=None),  # everything member 4 has
    ]
    results = await asyncio.gather(*(desk.trade(o) for o in orders), return_exceptions=True)

    assert max(batch_sizes) > 1, batch_sizes  # they did share a transaction
    assert isinstance(results[1], InsufficientBalance)
    assert isinstance(results[5], NotFound) and "hold no shares of Yes" in str(results[5])
    assert isinstance(results[6], ValidationError)
    filled = [r for r in results if isinstance(r, TradeReceipt)]
    assert len(filled) == 6 and results[3] == results[4]

    # Replayed one by one through the market maker, in the same order, they give the same receipts.
    state = lmsr.new_market(3, 500)
    balance = {2: START + 100, 3: START + 100, 4: START + 100}
    for i, (receipt, o) in enumerate(zip(results, orders, strict=True)):
        if not isinstance(receipt, TradeReceipt) or i == 4:  # refused, or the redelivery
            continue
        if o.side == "buy":
            amount = o.amount if o.amount is not None else balance[o.actor.user_id]
            expected = lmsr.buy(state, receipt.outcome, amount)
        else:
            expected = lmsr.sell(state, receipt.outcome, o.shares, held=Decimal(10**9))
        assert (receipt.points, receipt.shares) == (expected.points, expected.shares)
        assert receipt.probability_before == expected.price_before
        balance[o.actor.user_id] += expected.points if o.side == "sell" else -expected.points
        assert receipt.balance == balance[o.actor.user_id]
        state = expected.state
    assert [await member_balance(database, u) for u in (2, 3, 4)] == [balance[2], balance[3], 0]
    assert await count(database, trades) == 5
    assert await count(database, interaction_records) == 5 + 3 + 1  # the trades, 3 claims, the market

    # The same interaction again, later and alone: the recorded receipt, nothing applied.
    assert await desk.trade(twice) == results[3]
    assert await count(database, trades) == 5
    await assert_books_balance(database)


async def test_first_time_traders_are_opened_in_one_batch_and_then_trade(database: Database) -> None:
    await create(database)
    desk = TradingDesk(Transactions(database))
    results = await asyncio.gather(*(desk.trade(order(100 + i, Side.BUY, i % 3, amount=10 + i)) for i in range(12)))
    assert [r.balance for r in results] == [START - 10 - i for i in range(12)]

    async def grants(uow: UnitOfWork) -> int:
        statement = sa.select(sa.func.count()).where(transfers.c.reason == "starting_grant")
        return int(await uow.conn.scalar(statement))

    assert await query(database, grants) == 12
    await assert_books_balance(database)


async def test_an_order_for_a_market_that_does_not_exist_is_refused(database: Database) -> None:
    desk = TradingDesk(Transactions(database))
    with pytest.raises(NotFound, match="no market #1"):
        await desk.trade(order(2, Side.BUY, 0, amount=10))
    await assert_books_balance(database)


async def test_a_known_member_whose_account_is_gone_is_opened_again(database: Database) -> None:
    """The desk remembers members with accounts; the database is the truth (here a test wiped it)."""
    await create(database)
    desk = TradingDesk(Transactions(database))
    assert (await desk.trade(order(2, Side.BUY, 0, amount=10))).balance == START - 10

    async def wipe(uow: UnitOfWork) -> None:
        if uow.dialect == "postgresql":
            await uow.conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # past the triggers
        for table in (trades, transfers, interaction_records):
            await uow.conn.execute(sa.delete(table))
        await uow.conn.execute(sa.text("DELETE FROM positions"))
        await uow.conn.execute(sa.delete(accounts).where(accounts.c.kind == "member"))
        await uow.conn.execute(sa.update(accounts).values(balance=0))
        await uow.conn.execute(sa.text("UPDATE markets SET shares = '[0, 0, 0]', volume = 0, trade_count = 0"))
        await uow.commit()

    await query(database, wipe)
    assert (await desk.trade(order(2, Side.BUY, 0, amount=10))).balance == START - 10
