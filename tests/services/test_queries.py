"""What members look at (`app/services/queries.py`)."""

from __future__ import annotations

from app.domain import lmsr
from app.domain.market import MarketStatus
from app.services.markets import CreateMarket
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, CAROL, GUILD, START, fresh, member
from tests.support.fakes import FakeTransactions


async def test_a_member_who_never_played_sees_the_starting_balance(use_cases: UseCases) -> None:
    assert (await use_cases.balance(GUILD, 12345)).balance == START
    portfolio = await use_cases.portfolio(GUILD, 12345)
    assert portfolio.balance == START and portfolio.positions == []


async def test_a_portfolio_values_each_position_at_what_it_would_sell_for(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    receipt = await use_cases.buy(fresh(member(BOB)), 1, "Yes", 200)
    [position] = (await use_cases.portfolio(GUILD, BOB)).positions
    market = next(iter(transactions.books.markets.values()))
    assert position.value == lmsr.points_for_shares(market.state(), 0, receipt.shares)
    assert (position.paid_in, position.taken_out, position.outcome_label) == (200, 0, "Yes")
    assert position.profit == position.value - 200
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "No")
    assert (await use_cases.portfolio(GUILD, BOB)).positions == []


async def test_the_leaderboard_ranks_by_balance(use_cases: UseCases) -> None:
    await use_cases.give(fresh(member(ALICE)), BOB, 300)
    await use_cases.give(fresh(member(CAROL)), BOB, 1)
    board = await use_cases.leaderboard(GUILD, 2)
    assert [(e.user_id, e.balance) for e in board.entries] == [(BOB, START + 301), (CAROL, START - 1)]


async def test_markets_are_found_by_number_or_by_words(use_cases: UseCases) -> None:
    for question in ("Will it rain in Paris?", "Will it snow?", "Rain in Rome?"):
        await use_cases.create_market(fresh(member(ALICE)), CreateMarket(question, ["Yes", "No"]))
    await use_cases.close_market(fresh(member(ALICE)), 3)
    open_only = (MarketStatus.OPEN,)
    assert await use_cases.search_markets(GUILD, "rain", open_only) == [(1, "Will it rain in Paris?")]
    assert [n for n, _ in await use_cases.search_markets(GUILD, "rain", (MarketStatus.OPEN, MarketStatus.CLOSED))] == [
        3,
        1,
    ]
    assert await use_cases.search_markets(GUILD, "#2", open_only) == [(2, "Will it snow?")]
    assert [m.number for m in await use_cases.list_markets(GUILD, None)] == [3, 2, 1]
    assert [m.number for m in await use_cases.list_markets(GUILD, MarketStatus.CLOSED)] == [3]
