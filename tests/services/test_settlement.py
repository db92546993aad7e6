"""Resolving and cancelling markets (`app/services/settlement.py`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.errors import Conflict, Forbidden, ValidationError
from app.domain.guild import ConfigChange
from app.domain.ledger import TransferReason
from app.services.markets import CreateMarket
from app.services.results import TOP_PAYOUTS
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, CAROL, GUILD, START, books_balance, fresh, member
from tests.support.fakes import FakeTransactions


async def _market_with_bets(use_cases: UseCases, outcomes: list[str] | None = None) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Who wins?", outcomes or ["Red", "Blue"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Red", 100)
    await use_cases.buy(fresh(member(CAROL)), 1, "Blue", 300)


def _paid(transactions: FakeTransactions, reason: TransferReason) -> dict[int, int]:
    users = {a.id: a.user_id for a in transactions.books.accounts.values()}
    return {
        int(users[p.transfer.credit] or 0): p.transfer.amount
        for p in transactions.books.transfers
        if p.transfer.reason is reason
    }


async def test_resolving_pays_each_whole_winning_share_and_returns_the_rest(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market_with_bets(use_cases)
    bob_shares = (await use_cases.portfolio(GUILD, BOB)).positions[0].shares
    settled = await use_cases.resolve_market(fresh(member(ALICE)), 1, "red")
    assert settled.market.status == "resolved" and settled.market.resolution == {"outcome": 0}
    assert [(p.user_id, p.amount) for p in settled.payouts] == [(BOB, int(bob_shares))]
    assert settled.paid_count == 1 and settled.total_paid == int(bob_shares)
    pool = transactions.books.accounts[transactions.books.markets[settled.market.id].pool_account_id]
    assert pool.balance == 0
    assert settled.house_return == 1000 + 100 + 300 - int(bob_shares)
    assert (await use_cases.balance(GUILD, BOB)).balance == START - 100 + int(bob_shares)
    await books_balance(transactions)


async def test_weighted_resolution_reads_the_weights_as_written(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market_with_bets(use_cases)
    portfolio = {u: (await use_cases.portfolio(GUILD, u)).positions[0].shares for u in (BOB, CAROL)}
    with pytest.raises(ValidationError, match="add up to 90%"):
        await use_cases.resolve_market_weighted(fresh(member(ALICE)), 1, "Red 60, Blue 30")
    settled = await use_cases.resolve_market_weighted(fresh(member(ALICE)), 1, "red 70, BLUE 30")
    assert settled.market.resolution == {"weights": [70, 30]}
    expected = {BOB: int(portfolio[BOB] * 70 // 100), CAROL: int(portfolio[CAROL] * 30 // 100)}
    assert _paid(transactions, TransferReason.PAYOUT) == expected
    await books_balance(transactions)


async def test_cancelling_refunds_what_each_paid_in_net_of_sales(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market_with_bets(use_cases)
    sold = await use_cases.sell(fresh(member(BOB)), 1, "Red", Decimal("10"))
    settled = await use_cases.cancel_market(fresh(member(ALICE)), 1, "rained off")
    assert settled.reason == "rained off" and settled.market.status == "cancelled"
    assert _paid(transactions, TransferReason.REFUND) == {BOB: 100 - sold.points, CAROL: 300}
    assert (await use_cases.balance(GUILD, CAROL)).balance == START
    await books_balance(transactions)


async def test_only_the_creator_a_resolver_or_a_manager_settles(use_cases: UseCases) -> None:
    await _market_with_bets(use_cases)
    with pytest.raises(Forbidden):
        await use_cases.resolve_market(fresh(member(BOB)), 1, 0)
    await use_cases.update_config(fresh(member(99, manager=True)), ConfigChange(resolver_role_id=5))
    settled = await use_cases.resolve_market(fresh(member(BOB, roles=frozenset({5}))), 1, 1)
    assert settled.market.status == "resolved"
    with pytest.raises(Conflict, match="already resolved"):
        await use_cases.cancel_market(fresh(member(ALICE)), 1)


async def test_an_unknown_outcome_changes_nothing(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await _market_with_bets(use_cases)
    before = len(transactions.books.transfers)
    with pytest.raises(ValidationError, match="not an outcome"):
        await use_cases.resolve_market(fresh(member(ALICE)), 1, "Green")
    assert len(transactions.books.transfers) == before
    assert [m.status for m in transactions.books.markets.values()] == ["open"]


async def test_the_summary_keeps_the_largest_payouts_and_counts_the_rest(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Many?", ["Yes", "No"], liquidity=100_000))
    holders = range(100, 100 + TOP_PAYOUTS + 10)
    for n, user in enumerate(holders):
        await use_cases.buy(fresh(member(user)), 1, "Yes", 10 + n)
    settled = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Yes")
    assert settled.paid_count == len(holders)
    assert len(settled.payouts) == TOP_PAYOUTS
    amounts = [p.amount for p in settled.payouts]
    assert amounts == sorted(amounts, reverse=True) and settled.payouts[0].user_id == holders[-1]
    assert settled.total_paid == sum(_paid(transactions, TransferReason.PAYOUT).values())
    await books_balance(transactions)


async def test_settling_locks_every_account_it_pays_in_id_order(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market_with_bets(use_cases)
    original = transactions.run

    locked: list[list[int]] = []

    async def run(work, **kwargs):  # type: ignore[no-untyped-def]
        async def watched(uow):  # type: ignore[no-untyped-def]
            result = await work(uow)
            locked.append(list(uow.locked))
            return result

        return await original(watched, **kwargs)

    transactions.run = run  # type: ignore[method-assign]
    await use_cases.cancel_market(fresh(member(ALICE)), 1)
    assert locked[-1] == sorted(locked[-1]) and len(locked[-1]) == 4  # house, pool, Bob, Carol
