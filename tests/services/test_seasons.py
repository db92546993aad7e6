"""Seasons (`app/services/seasons.py`): the reset, the standings kept, names."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.domain.audit import AuditAction
from app.domain.errors import Conflict, Forbidden, NotFound
from app.domain.events import SeasonStarted, SeasonStartRequested
from app.domain.ledger import AccountKind, TransferReason
from app.services.markets import CreateMarket
from app.services.record_results import SeasonStart, SeasonStartDeferred
from app.services.rows import Followup
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.services.conftest import ADMIN, ALICE, BOB, CAROL, GUILD, START, books_balance, fresh, member
from tests.support.fakes import START as START_TIME
from tests.support.fakes import FakeThrottle, FakeTransactions


def _guild_total(transactions: FakeTransactions) -> int:
    return sum(a.balance for a in transactions.books.accounts.values() if a.guild_id == GUILD)


async def _played(use_cases: UseCases) -> None:
    await use_cases.give(fresh(member(ALICE)), BOB, 400)  # Alice 600, Bob 1,400
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.buy(fresh(member(CAROL)), 1, "Yes", 250)  # Carol 750 and a position


async def test_only_managers_start_a_season(use_cases: UseCases) -> None:
    with pytest.raises(Forbidden):
        await use_cases.start_season(fresh(member(BOB)), None, 10)


async def test_a_season_start_keeps_the_standings_and_resets_every_balance_with_transfers(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    await _played(use_cases)
    assert _guild_total(transactions) == 0
    shares_before = dict(transactions.books.positions)

    started = await use_cases.start_season(fresh(member(ADMIN, manager=True)), None, 10)

    assert (started.ended.name, started.ended.number, started.name, started.number) == ("Season 1", 1, "Season 2", 2)
    assert [(e.user_id, e.balance) for e in started.ended.entries] == [(BOB, 1400), (CAROL, 750), (ALICE, 600)]
    assert started.members_reset == 3 and started.starting_balance == START
    for user in (ALICE, BOB, CAROL):
        assert (await use_cases.balance(GUILD, user)).balance == START
    assert _guild_total(transactions) == 0  # the house took and gave what the members gave back and got
    resets = [p.transfer for p in transactions.books.transfers if p.transfer.reason is TransferReason.SEASON_RESET]
    assert sorted(t.amount for t in resets) == [250, 400, 400]
    assert transactions.books.positions == shares_before  # open positions carry over
    await books_balance(transactions)

    [(_, _, _, details)] = [a for a in transactions.books.audit if a[1] is AuditAction.SEASON_START]
    assert details["ended_name"] == "Season 1" and details["members_reset"] == 3
    [event] = [e for _, e in transactions.books.events if isinstance(e, SeasonStarted)]
    assert (event.number, event.name, event.aggregate_id) == (2, "Season 2", GUILD)

    board = await use_cases.season_standings(GUILD, "season 1", 2)
    assert [e.user_id for e in board.entries] == [BOB, CAROL]


async def test_seasons_are_numbered_and_their_names_unique(use_cases: UseCases) -> None:
    admin = member(ADMIN, manager=True)
    await _played(use_cases)
    await use_cases.start_season(fresh(admin), "Winter Cup", 10)
    with pytest.raises(Conflict, match="already has a season called"):
        await use_cases.start_season(fresh(admin), "winter  cup", 10)
    with pytest.raises(Conflict):
        await use_cases.start_season(fresh(admin), "Season 1", 10)
    started = await use_cases.start_season(fresh(admin), None, 10)
    assert (started.ended.name, started.name, started.number) == ("Winter Cup", "Season 3", 3)
    assert await use_cases.search_seasons(GUILD, "") == ["Winter Cup", "Season 1"]
    assert await use_cases.search_seasons(GUILD, "WIN") == ["Winter Cup"]
    with pytest.raises(NotFound):
        await use_cases.season_standings(GUILD, "Season 3", 10)  # still in play: no final standings


async def test_a_reset_leaves_other_servers_alone(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await _played(use_cases)
    await use_cases.give(fresh(member(ALICE, guild=GUILD + 1)), BOB, 300)
    await use_cases.start_season(fresh(member(ADMIN, manager=True)), None, 10)
    others = {
        a.user_id: a.balance
        for a in transactions.books.accounts.values()
        if a.guild_id == GUILD + 1 and a.kind is AccountKind.MEMBER
    }
    assert others == {ALICE: START - 300, BOB: START + 300}


async def test_a_big_server_start_is_acknowledged_and_left_to_the_worker(
    transactions: FakeTransactions, throttle: FakeThrottle
) -> None:
    use_cases = UseCases(transactions, TradingDesk(transactions), throttle, defer_from=3)
    await _played(use_cases)
    followup = Followup(1, 2, "token", START_TIME + timedelta(minutes=15))
    admin = member(ADMIN, manager=True)
    with pytest.raises(Conflict):
        await use_cases.start_season(fresh(admin), "season 1", 10, followup)  # refused now, not by the worker

    deferred = await use_cases.start_season(fresh(admin), "Spring", 10, followup)

    assert isinstance(deferred, SeasonStartDeferred) and deferred.members == 3
    [event] = [e for _, e in transactions.books.events if isinstance(e, SeasonStartRequested)]
    assert (event.name, event.user_id, event.is_manager) == ("Spring", ADMIN, True)
    assert (await use_cases.balance(GUILD, BOB)).balance == 1400  # nothing reset yet
    assert transactions.books.followups[1] == followup
    started = await use_cases.start_season(fresh(admin), "Spring", 10)  # as the worker does it: no followup
    assert isinstance(started, SeasonStart) and started.name == "Spring"
