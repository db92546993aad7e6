"""Forecasting records, `/stats` and the leaderboards by profit and accuracy (`app/services/records.py`)."""

from __future__ import annotations

from decimal import Decimal

from app.domain import limits
from app.domain.records import RankBy
from app.services.markets import CreateMarket
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, CAROL, GUILD, START, fresh, member


async def _market(use_cases: UseCases, number: int, bob: int = 100, carol: int = 300) -> tuple[Decimal, Decimal]:
    """A Red/Blue market #number where Bob buys Red and Carol Blue; the prices after Bob's trade."""
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket(f"Who wins {number}?", ["Red", "Blue"]))
    receipt = await use_cases.buy(fresh(member(BOB)), number, "Red", bob)
    await use_cases.buy(fresh(member(CAROL)), number, "Blue", carol)
    red, blue = receipt.market.probabilities
    return red, blue


async def test_a_resolution_records_each_traders_profit_win_and_brier_score(use_cases: UseCases) -> None:
    red, blue = await _market(use_cases, 1)
    settled = await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    bob_paid = {p.user_id: p.amount for p in settled.payouts}[BOB]

    bob = await use_cases.stats(GUILD, BOB)
    assert (bob.markets_traded, bob.resolved, bob.won, bob.staked) == (1, 1, 1, 100)
    assert bob.profit == bob_paid - 100 and bob.roi == Decimal(bob_paid - 100) / 100
    expected = ((red - 1) ** 2 + blue**2) * 10**6
    assert bob.scored == 1 and bob.brier == Decimal(int(expected.quantize(Decimal(1)))) / 10**6

    carol = await use_cases.stats(GUILD, CAROL)
    assert (carol.resolved, carol.won, carol.profit) == (1, 0, -300)
    assert carol.brier is not None and carol.brier > bob.brier  # Carol's last trade moved Blue up: a worse forecast


async def test_stats_of_a_member_who_never_traded_are_empty(use_cases: UseCases) -> None:
    view = await use_cases.stats(GUILD, BOB)
    assert (view.markets_traded, view.resolved, view.profit, view.roi, view.brier) == (0, 0, 0, None, None)
    assert view.accuracy_minimum == limits.ACCURACY_MIN_MARKETS


async def test_open_and_cancelled_markets_count_as_traded_but_leave_no_record(use_cases: UseCases) -> None:
    await _market(use_cases, 1)
    await _market(use_cases, 2)
    await use_cases.cancel_market(fresh(member(ALICE)), 2, "rained off")
    bob = await use_cases.stats(GUILD, BOB)
    assert (bob.markets_traded, bob.resolved, bob.scored, bob.profit) == (2, 0, 0, 0)


async def test_the_leaderboard_by_profit_puts_the_best_return_first(use_cases: UseCases) -> None:
    await _market(use_cases, 1)
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")
    board = await use_cases.ranked_by(GUILD, RankBy.PROFIT, 10)
    assert [e.user_id for e in board.entries] == [BOB, CAROL]
    assert board.entries[1].profit == -300
    assert (await use_cases.balance(GUILD, CAROL)).balance == START - 300


async def test_accuracy_ranks_only_members_with_the_minimum_of_resolved_markets(use_cases: UseCases) -> None:
    minimum = limits.ACCURACY_MIN_MARKETS
    for number in range(1, minimum + 1):
        await _market(use_cases, number, bob=10, carol=10)
        await use_cases.resolve_market(fresh(member(ALICE)), number, "Red")
    board = await use_cases.ranked_by(GUILD, RankBy.ACCURACY, 10)
    assert [e.user_id for e in board.entries] == [BOB, CAROL]
    assert all(e.scored == minimum for e in board.entries)
    assert board.entries[0].brier is not None and board.entries[1].brier is not None
    assert board.entries[0].brier < board.entries[1].brier

    # One market fewer for a newcomer: not ranked yet.
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("One more?", ["Yes", "No"]))
    await use_cases.buy(fresh(member(ALICE)), minimum + 1, "Yes", 10)
    await use_cases.resolve_market(fresh(member(ALICE)), minimum + 1, "Yes")
    board = await use_cases.ranked_by(GUILD, RankBy.ACCURACY, 10)
    assert ALICE not in [e.user_id for e in board.entries]
