"""Unresolving markets (`app/services/unresolve.py`) on the fakes: who may, when, and that every reversal
leaves the books exact, however many times a market is settled and unsettled."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.errors import Conflict, Forbidden, NotFound
from app.domain.events import MarketUnresolved
from app.domain.guild import ConfigChange
from app.domain.ledger import TransferReason
from app.domain.market import MarketStatus
from app.services.markets import CreateMarket
from app.services.use_cases import UseCases
from tests.services.conftest import ADMIN, ALICE, BOB, CAROL, GUILD, books_balance, fresh, member
from tests.support.fakes import START as T0
from tests.support.fakes import FakeTransactions

RESOLVER_ROLE = 777


@pytest.fixture
def now() -> list:  # type: ignore[type-arg]
    return [T0]


@pytest.fixture
def transactions(now: list) -> FakeTransactions:  # type: ignore[type-arg]
    return FakeTransactions(clock=lambda: now[0])


async def _market(use_cases: UseCases, closes_in: timedelta = timedelta(days=3)) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Who wins?", ["Red", "Blue"], closes_in=closes_in))
    await use_cases.buy(fresh(member(BOB)), 1, "Red", 100)
    await use_cases.buy(fresh(member(CAROL)), 1, "Blue", 300)


async def _balances(use_cases: UseCases) -> dict[int, int]:
    return {u: (await use_cases.balance(GUILD, u)).balance for u in (BOB, CAROL)}


def _pool(transactions: FakeTransactions) -> int:
    market = next(iter(transactions.books.markets.values()))
    return transactions.books.accounts[market.pool_account_id].balance


async def test_unresolving_takes_every_payout_back_and_reopens_the_market(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    before, pool = await _balances(use_cases), _pool(transactions)
    settled = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    assert settled.total_paid > 0 and _pool(transactions) == 0
    undone = await use_cases.unresolve_market(fresh(member(ALICE)), 1, "wrong outcome")
    assert undone.market.status == "open" and undone.market.resolution is None
    assert (undone.members, undone.reclaimed, undone.shortfall) == (1, settled.total_paid, 0)
    assert await _balances(use_cases) == before and _pool(transactions) == pool
    event = transactions.books.events[-1][1]
    assert isinstance(event, MarketUnresolved)
    assert (event.undone, event.reason, event.status) == ({"outcome": 0}, "wrong outcome", "open")
    actions = [(a.user_id, str(action), details.get("reason")) for a, action, _, details in transactions.books.audit]
    assert actions[-1] == (ALICE, "market.unresolve", "wrong outcome")
    await books_balance(transactions)
    # Trading goes on, and the market settles again, the other way, exactly.
    await use_cases.buy(fresh(member(BOB)), 1, "Blue", 10)
    held = {u: (await use_cases.portfolio(GUILD, u)).positions for u in (BOB, CAROL)}
    blue = {u: sum(int(p.shares) for p in held[u] if p.outcome_label == "Blue") for u in (BOB, CAROL)}
    balances = await _balances(use_cases)
    again = await use_cases.resolve_market(fresh(member(ADMIN, manager=True)), 1, "Blue")
    assert again.total_paid == sum(blue.values()) and _pool(transactions) == 0
    assert await _balances(use_cases) == {u: balances[u] + blue[u] for u in (BOB, CAROL)}
    await books_balance(transactions)


async def test_a_winner_who_spent_the_payout_leaves_the_house_to_pay_the_rest(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    pool = _pool(transactions)
    settled = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    paid = settled.total_paid
    bob = (await use_cases.balance(GUILD, BOB)).balance
    await use_cases.give(fresh(member(BOB)), CAROL, bob - 5)  # Bob keeps 5 points of what he won
    carol = (await use_cases.balance(GUILD, CAROL)).balance
    undone = await use_cases.unresolve_market(fresh(member(ALICE)), 1)
    assert (undone.reclaimed, undone.shortfall) == (5, paid - 5)
    assert (await use_cases.balance(GUILD, BOB)).balance == 0  # never below zero
    assert (await use_cases.balance(GUILD, CAROL)).balance == carol  # the gift stays given
    assert _pool(transactions) == pool
    shortfalls = [p.transfer for p in transactions.books.transfers if p.transfer.reason is TransferReason.SHORTFALL]
    market_id = next(iter(transactions.books.markets))
    bob_account = transactions.books.member(GUILD, BOB)
    house = transactions.books.house(GUILD)
    assert bob_account is not None and house is not None
    assert [(t.debit, t.credit, t.amount, t.market_id) for t in shortfalls] == [
        (house.id, bob_account.id, paid - 5, market_id)
    ]
    await books_balance(transactions)
    # Resolved the same way again, Bob is paid again in full: the house carried what he had spent.
    again = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    assert again.total_paid == paid and (await use_cases.balance(GUILD, BOB)).balance == paid
    await books_balance(transactions)


async def test_a_market_settles_and_unsettles_any_number_of_times_and_ends_exact(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _market(use_cases)
    pool, before = _pool(transactions), await _balances(use_cases)
    settle = [
        lambda: use_cases.resolve_market(fresh(member(ALICE)), 1, "Red"),
        lambda: use_cases.resolve_market_weighted(fresh(member(ALICE)), 1, "Red 30, Blue 70"),
        lambda: use_cases.cancel_market(fresh(member(ALICE)), 1, "void"),
        lambda: use_cases.resolve_market(fresh(member(ALICE)), 1, "Blue"),
    ]
    for round_ in range(3):
        for go in settle:
            await go()
            await use_cases.unresolve_market(fresh(member(ALICE)), 1, f"round {round_}")
            assert _pool(transactions) == pool and await _balances(use_cases) == before
            await books_balance(transactions)
    final = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Blue")
    assert _pool(transactions) == 0
    assert (await use_cases.balance(GUILD, CAROL)).balance == before[CAROL] + final.total_paid
    await books_balance(transactions)


async def test_a_creator_may_unresolve_only_within_the_servers_window(
    use_cases: UseCases,
    transactions: FakeTransactions,
    now: list,  # type: ignore[type-arg]
) -> None:
    await _market(use_cases)
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    now[0] = T0 + timedelta(minutes=11)
    with pytest.raises(Forbidden, match="within 10 minutes"):
        await use_cases.unresolve_market(fresh(member(ALICE)), 1)
    await use_cases.update_config(fresh(member(ADMIN, manager=True)), ConfigChange(unresolve_window_seconds=3600))
    await use_cases.unresolve_market(fresh(member(ALICE)), 1)
    await books_balance(transactions)


async def test_managers_and_the_resolver_role_may_unresolve_for_seven_days_and_nobody_else(
    use_cases: UseCases,
    transactions: FakeTransactions,
    now: list,  # type: ignore[type-arg]
) -> None:
    await use_cases.update_config(fresh(member(ADMIN, manager=True)), ConfigChange(resolver_role_id=RESOLVER_ROLE))
    await _market(use_cases, closes_in=timedelta(days=30))
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    now[0] = T0 + timedelta(days=6)
    with pytest.raises(Forbidden, match="creator, a resolver or a server manager"):
        await use_cases.unresolve_market(fresh(member(BOB)), 1)
    resolver = member(CAROL, roles=frozenset({RESOLVER_ROLE}))
    await use_cases.unresolve_market(fresh(resolver), 1, "appeal")
    await use_cases.cancel_market(fresh(member(ADMIN, manager=True)), 1)
    now[0] = T0 + timedelta(days=13, hours=1)
    with pytest.raises(Conflict, match="more than 7 days"):
        await use_cases.unresolve_market(fresh(member(ADMIN, manager=True)), 1)
    await books_balance(transactions)


async def test_only_a_settled_market_can_be_unresolved(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await _market(use_cases)
    with pytest.raises(Conflict, match="is not resolved or cancelled"):
        await use_cases.unresolve_market(fresh(member(ADMIN, manager=True)), 1)
    with pytest.raises(NotFound):
        await use_cases.unresolve_market(fresh(member(ADMIN, manager=True)), 9)
    await books_balance(transactions)


async def test_a_market_closed_before_or_past_its_close_time_comes_back_closed(
    use_cases: UseCases,
    transactions: FakeTransactions,
    now: list,  # type: ignore[type-arg]
) -> None:
    await _market(use_cases, closes_in=timedelta(hours=1))
    now[0] = T0 + timedelta(minutes=1)
    await use_cases.close_market(fresh(member(ALICE)), 1)
    now[0] = T0 + timedelta(minutes=2)
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    undone = await use_cases.unresolve_market(fresh(member(ALICE)), 1)
    assert undone.market.status == MarketStatus.CLOSED  # it was closed before it was resolved
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    now[0] = T0 + timedelta(hours=2)
    undone = await use_cases.unresolve_market(fresh(member(ADMIN, manager=True)), 1)
    assert undone.market.status == MarketStatus.CLOSED  # its close time has passed
    await books_balance(transactions)
