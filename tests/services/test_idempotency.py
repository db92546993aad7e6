"""Each interaction applies once (`app/services/idempotency.py`)."""

from __future__ import annotations

import pytest

from app.domain.errors import InsufficientBalance
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, GUILD, START, fresh, member
from tests.support.fakes import FakeTransactions


async def test_a_redelivered_interaction_gets_the_recorded_answer_and_applies_nothing_again(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    gift = fresh(member(ALICE))
    first = await use_cases.give(gift, BOB, START)
    again = await use_cases.give(gift, BOB, START)  # would now be refused: the balance is spent
    assert again == first
    assert (await use_cases.balance(GUILD, BOB)).balance == 2 * START
    assert len(transactions.books.records) == 1


async def test_a_refused_interaction_records_nothing(use_cases: UseCases, transactions: FakeTransactions) -> None:
    gift = fresh(member(ALICE))
    with pytest.raises(InsufficientBalance):
        await use_cases.give(gift, BOB, START + 1)
    assert transactions.books.records == {}


async def test_without_an_interaction_id_nothing_is_recorded(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.give(member(ALICE), BOB, 5)
    await use_cases.give(member(ALICE), BOB, 5)
    assert transactions.books.records == {}
    assert (await use_cases.balance(GUILD, BOB)).balance == START + 10
