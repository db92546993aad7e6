"""Deferred settlements and unresolves (`app/services/consumers/deferred.py`) on the fakes: the worker does what
the reply already acknowledged, judged by when it was asked for, however late the worker gets to it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.domain.events import SettlementRequested, StoredEvent
from app.domain.market import MarketStatus
from app.services.consumers.deferred import DeferredSettlements
from app.services.markets import CreateMarket
from app.services.results import SettlementDeferred, Unresolved
from app.services.rows import Followup
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, CAROL, GUILD, START, books_balance, fresh, member
from tests.support.fakes import START as T0
from tests.support.fakes import FakeThrottle, FakeTransactions

WINDOW = timedelta(minutes=10)  # a creator's default unresolve window


class Board:
    """Discord as the worker sees it: keeps what each acknowledged reply was finished with."""

    def __init__(self) -> None:
        self.finished: list[Unresolved | str | Any] = []

    async def finish(self, followup: Followup, outcome: Any) -> None:
        self.finished.append(outcome)


@pytest.fixture
def now() -> list[datetime]:
    return [T0]


@pytest.fixture
def transactions(now: list[datetime]) -> FakeTransactions:
    return FakeTransactions(clock=lambda: now[0])


@pytest.fixture
def use_cases(transactions: FakeTransactions, throttle: FakeThrottle) -> UseCases:
    return UseCases(transactions, TradingDesk(transactions), throttle, defer_from=1)  # every unresolve deferred


async def _resolved(use_cases: UseCases) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Who wins?", ["Red", "Blue"]))
    await use_cases.buy(fresh(member(BOB)), 1, "Red", 100)
    await use_cases.buy(fresh(member(CAROL)), 1, "Blue", 300)
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Red")  # no reply to finish later: settled now


async def _request_unresolve(use_cases: UseCases, transactions: FakeTransactions, at: datetime) -> StoredEvent:
    """The creator asks at `at`; the request as the worker reads it from the log."""
    asker = fresh(member(ALICE))
    assert asker.interaction_id is not None
    followup = Followup(asker.interaction_id, 1, "token", at + timedelta(minutes=15))
    assert isinstance(await use_cases.unresolve_market(asker, 1, "wrong outcome", followup), SettlementDeferred)
    actor, event = transactions.books.events[-1]
    assert isinstance(event, SettlementRequested) and event.requested_at == at.isoformat()
    return StoredEvent(
        id="0f0e0d0c-0b0a-0908-0706-050403020100",
        type=event.TYPE,
        version=event.VERSION,
        aggregate_type=event.AGGREGATE,
        aggregate_id=event.aggregate_id,
        sequence=1,
        guild_id=GUILD,
        occurred_at=at,
        actor_id=ALICE,
        interaction_id=actor.interaction_id,
        payload=event.payload(),
    )


async def _work(transactions: FakeTransactions, use_cases: UseCases, event: StoredEvent, at: datetime) -> Board:
    board = Board()
    await DeferredSettlements(transactions, use_cases, board, lambda: at)(event)  # type: ignore[arg-type]
    return board


async def test_a_creators_unresolve_asked_within_the_window_is_done_however_late_the_worker_is(
    use_cases: UseCases, transactions: FakeTransactions, now: list[datetime]
) -> None:
    await _resolved(use_cases)
    now[0] = T0 + WINDOW - timedelta(seconds=1)  # 9:59 after the settlement: acknowledged
    event = await _request_unresolve(use_cases, transactions, now[0])

    now[0] = T0 + WINDOW + timedelta(minutes=5)  # the worker gets to it past the window
    board = await _work(transactions, use_cases, event, now[0])

    [done] = board.finished
    assert isinstance(done, Unresolved), done
    assert done.market.status == MarketStatus.OPEN and done.members == 1
    balances = {user: (await use_cases.balance(GUILD, user)).balance for user in (BOB, CAROL)}
    assert balances == {BOB: START - 100, CAROL: START - 300}  # the payout taken back
    await books_balance(transactions)


async def test_a_request_logged_before_it_carried_its_time_is_judged_by_the_events_time(
    use_cases: UseCases, transactions: FakeTransactions, now: list[datetime]
) -> None:
    await _resolved(use_cases)
    now[0] = T0 + WINDOW - timedelta(seconds=1)
    event = await _request_unresolve(use_cases, transactions, now[0])
    payload = {k: v for k, v in event.payload.items() if k != "requested_at"}  # as version 1 wrote it
    old = replace(event, version=1, payload=payload)

    now[0] = T0 + WINDOW + timedelta(minutes=5)
    [done] = (await _work(transactions, use_cases, old, now[0])).finished
    assert isinstance(done, Unresolved) and done.market.status == MarketStatus.OPEN
    await books_balance(transactions)


async def test_the_worker_still_refuses_a_request_made_after_the_creators_window(
    use_cases: UseCases, transactions: FakeTransactions, now: list[datetime]
) -> None:
    await _resolved(use_cases)
    now[0] = T0 + WINDOW - timedelta(seconds=1)
    event = await _request_unresolve(use_cases, transactions, now[0])
    now[0] = late = T0 + WINDOW + timedelta(seconds=1)
    asked_late = replace(event, payload={**event.payload, "requested_at": late.isoformat()})

    [refused] = (await _work(transactions, use_cases, asked_late, late)).finished
    assert isinstance(refused, str) and "only within 10 minutes of its settlement" in refused
    assert (await use_cases.show_market(GUILD, 1)).status == MarketStatus.RESOLVED
    await books_balance(transactions)
