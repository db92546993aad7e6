"""The daily bonus, gifts and grants (`app/services/wallet.py`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.errors import Forbidden, InsufficientBalance, ValidationError
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, GUILD, START, books_balance, fresh, member
from tests.support.fakes import START as T0
from tests.support.fakes import FakeThrottle, FakeTransactions


async def test_the_daily_bonus_is_paid_once_per_day(transactions: FakeTransactions) -> None:
    now = [T0]
    transactions.clock = lambda: now[0]
    use_cases = UseCases(transactions, TradingDesk(transactions), FakeThrottle())
    first = await use_cases.claim_daily(fresh(member(ALICE)))
    assert first.claimed and first.amount == 100 and first.balance == START + 100
    assert first.next_claim_at == T0 + timedelta(hours=24)
    now[0] = T0 + timedelta(hours=23, minutes=59)
    again = await use_cases.claim_daily(fresh(member(ALICE)))
    assert not again.claimed and again.balance == START + 100 and again.next_claim_at == T0 + timedelta(hours=24)
    now[0] = T0 + timedelta(hours=24)
    assert (await use_cases.claim_daily(fresh(member(ALICE)))).balance == START + 200
    await books_balance(transactions)


async def test_gifts_move_points_between_members(use_cases: UseCases, transactions: FakeTransactions) -> None:
    receipt = await use_cases.give(fresh(member(ALICE)), BOB, 250)
    assert (receipt.balance, receipt.recipient_balance) == (START - 250, START + 250)
    with pytest.raises(InsufficientBalance, match="only have 750 points"):
        await use_cases.give(fresh(member(ALICE)), BOB, 751)
    with pytest.raises(ValidationError, match="yourself"):
        await use_cases.give(fresh(member(ALICE)), ALICE, 1)
    with pytest.raises(ValidationError, match="at least 1"):
        await use_cases.give(fresh(member(ALICE)), BOB, 0)
    assert (await use_cases.balance(GUILD, BOB)).balance == START + 250
    await books_balance(transactions)


async def test_grants_come_from_the_house_and_are_for_managers(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    with pytest.raises(Forbidden):
        await use_cases.grant(fresh(member(ALICE)), BOB, 500, "prize")
    receipt = await use_cases.grant(fresh(member(ALICE, manager=True)), BOB, 500, "prize")
    assert receipt.recipient_balance == START + 500 and receipt.reason == "prize"
    house = transactions.books.house(GUILD)
    assert house is not None and house.balance == -(START + 500)
    await books_balance(transactions)
