"""`verify-ledger`'s rules (`app/services/verify.py`), over books corrupted on purpose."""

from __future__ import annotations

from dataclasses import replace

from app.domain.ledger import Transfer, TransferReason
from app.services.markets import CreateMarket
from app.services.use_cases import UseCases
from app.services.verify import verify_ledger
from tests.services.conftest import ALICE, BOB, GUILD, fresh, member
from tests.support.fakes import FakeTransactions, Posted


async def test_balanced_books_have_no_violation(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    assert await transactions.run(verify_ledger) == []


async def test_each_broken_invariant_is_named(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    books = transactions.books
    bob = books.member(GUILD, BOB)
    assert bob is not None
    bob.balance += 7  # a balance that is not the sum of its transfers, and points from nowhere
    market = next(iter(books.markets.values()))
    books.positions[(market.id, bob.id, 0)][0] += 1  # positions that do not add up to the market's shares
    problems = await transactions.run(verify_ledger)
    assert any(f"account {bob.id} (member) has balance" in p for p in problems)
    assert any(p.startswith(f"guild {GUILD}: balances sum to 7") for p in problems)
    assert any("outcome 0 has" in p and "positions hold" in p for p in problems)


async def test_a_settled_market_holding_points_is_a_violation(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Yes")
    market = next(iter(transactions.books.markets.values()))
    transactions.books.accounts[market.pool_account_id].balance = 5
    problems = await transactions.run(verify_ledger)
    assert any("is resolved but still holds 5 points" in p for p in problems)


async def test_a_shortfall_not_from_the_house_to_a_member_is_a_violation(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    books = transactions.books
    house = books.house(GUILD)
    assert house is not None
    market = next(iter(books.markets.values()))
    pool = books.accounts[market.pool_account_id]
    # From the house, but to a market's pool rather than to a member.
    books.transfers.append(Posted(GUILD, Transfer(house.id, pool.id, 1, TransferReason.SHORTFALL, market.id), None))
    house.balance -= 1
    pool.balance += 1
    problems = await transactions.run(verify_ledger)
    assert problems == [f"transfer {len(books.transfers)} is a shortfall that does not go from the house to a member"]


async def test_a_pool_that_cannot_cover_every_later_trade_is_a_violation(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    books = transactions.books
    market = next(iter(books.markets.values()))
    # A market maker shifted as no subsidy paid for: its pool still covers today's shares, not what trading can do.
    books.markets[market.id] = replace(market, shift=(0, 500_000_000))
    problems = await transactions.run(verify_ledger)
    assert any("cannot cover the worst case after every possible trade" in p for p in problems)
