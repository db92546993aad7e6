"""Stale markets refund themselves (`app/services/refunds.py`) on the fakes: the creator hears a day before,
then Hunch cancels the market with exact refunds; never an open, resolved or re-opened one, never when off, and
never one whose creator has not had the reminder for a day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from app.domain.actor import SYSTEM_USER_ID
from app.domain.events import MarketCancelled, MarketRefundDue
from app.domain.guild import ConfigChange
from app.domain.market import MarketStatus
from app.services import refunds
from app.services.markets import CreateMarket
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.services.conftest import ADMIN, ALICE, BOB, CAROL, GUILD, START, books_balance, fresh, member
from tests.support.fakes import START as T0
from tests.support.fakes import FakeThrottle, FakeTransactions

CLOSES = T0 + timedelta(hours=1)


def _setup() -> tuple[list[datetime], FakeTransactions, UseCases]:
    now = [T0]
    transactions = FakeTransactions(clock=lambda: now[0])
    return now, transactions, UseCases(transactions, TradingDesk(transactions), FakeThrottle())


async def _closed_market(use_cases: UseCases, now: list[datetime]) -> None:
    await use_cases.create_market(
        fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"], closes_in=timedelta(hours=1), channel_id=5)
    )
    await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    await use_cases.buy(fresh(member(CAROL)), 1, "No", 250)
    now[0] = CLOSES
    assert await use_cases.close_expired_markets(now[0]) == [(GUILD, 1)]


async def _pass(use_cases: UseCases, now: list[datetime], at: datetime) -> tuple[list[tuple[int, int]], int]:
    now[0] = at
    return await use_cases.refund_stale_markets(at), await use_cases.remind_refunds(at)


async def test_the_creator_is_reminded_a_day_before_then_every_stake_is_refunded_exactly() -> None:
    now, transactions, use_cases = _setup()
    await _closed_market(use_cases, now)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=12, hours=23)) == ([], 0)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=13)) == ([], 1)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=13, hours=2)) == ([], 0)  # reminded once
    reminders = [e for _, e in transactions.books.events if isinstance(e, MarketRefundDue)]
    assert [(e.number, e.creator_id, e.refund_at) for e in reminders] == [
        (1, ALICE, (CLOSES + timedelta(days=14)).isoformat())
    ]
    assert await _pass(use_cases, now, CLOSES + timedelta(days=14)) == ([(GUILD, 1)], 0)
    assert transactions.books.markets[next(iter(transactions.books.markets))].status is MarketStatus.CANCELLED
    assert {u: (await use_cases.balance(GUILD, u)).balance for u in (BOB, CAROL)} == {BOB: START, CAROL: START}
    actor, cancelled = transactions.books.events[-1]
    assert isinstance(cancelled, MarketCancelled) and actor.user_id == SYSTEM_USER_ID
    assert cancelled.answered_in is None  # so the notifications consumer posts it in the market's channel
    assert cancelled.resolution == {"cancelled": "Nobody resolved it within 14 days of its close."}
    assert await _pass(use_cases, now, CLOSES + timedelta(days=15)) == ([], 0)
    await books_balance(transactions)


async def test_a_server_sets_its_own_delay_or_turns_refunds_off() -> None:
    now, transactions, use_cases = _setup()
    admin = fresh(member(ADMIN, manager=True))
    await use_cases.update_config(admin, ConfigChange(auto_refund_after_seconds=3 * 86400))
    await _closed_market(use_cases, now)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=2, hours=1)) == ([], 1)
    await use_cases.update_config(fresh(admin), ConfigChange(auto_refund_after_seconds=0))
    assert await _pass(use_cases, now, CLOSES + timedelta(days=400)) == ([], 0)
    await books_balance(transactions)


async def test_resolved_and_open_markets_are_left_alone_and_an_unresolved_one_waits_again() -> None:
    now, transactions, use_cases = _setup()
    await _closed_market(use_cases, now)
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Open?", ["A", "B"], closes_in=timedelta(days=99)))
    now[0] = CLOSES + timedelta(days=12)
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Yes")
    assert await _pass(use_cases, now, CLOSES + timedelta(days=15)) == ([], 0)
    # A manager undoes the resolution: the market is closed again, and the delay starts over from now.
    await use_cases.unresolve_market(fresh(member(ADMIN, manager=True)), 1, "wrong")
    assert await _pass(use_cases, now, CLOSES + timedelta(days=28, hours=1)) == ([], 1)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=29, minutes=1)) == ([], 0)  # told 23 hours ago
    assert await _pass(use_cases, now, CLOSES + timedelta(days=29, hours=1)) == ([(GUILD, 1)], 0)
    await books_balance(transactions)


async def test_a_market_found_past_its_refund_time_is_reminded_first_and_refunded_a_day_later() -> None:
    now, transactions, use_cases = _setup()
    await _closed_market(use_cases, now)
    now[0] = CLOSES + timedelta(days=5)  # a manager lowers the delay to two days: the market is already past it
    await use_cases.update_config(fresh(member(ADMIN, manager=True)), ConfigChange(auto_refund_after_seconds=2 * 86400))
    found = CLOSES + timedelta(days=5, minutes=1)
    assert await _pass(use_cases, now, found) == ([], 1)  # reminded, not refunded
    reminders = [e for _, e in transactions.books.events if isinstance(e, MarketRefundDue)]
    assert [(e.number, e.creator_id, e.refund_at) for e in reminders] == [
        (1, ALICE, (found + timedelta(days=1)).isoformat())
    ]
    assert await _pass(use_cases, now, found + timedelta(hours=23, minutes=59)) == ([], 0)
    assert await _pass(use_cases, now, found + timedelta(days=1)) == ([(GUILD, 1)], 0)
    assert {u: (await use_cases.balance(GUILD, u)).balance for u in (BOB, CAROL)} == {BOB: START, CAROL: START}
    await books_balance(transactions)


async def test_a_market_that_fails_to_refund_does_not_hold_back_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    now, transactions, use_cases = _setup()
    for question in ("First?", "Second?"):
        await use_cases.create_market(
            fresh(member(ALICE)), CreateMarket(question, ["A", "B"], closes_in=timedelta(hours=1))
        )
    now[0] = CLOSES
    await use_cases.close_expired_markets(now[0])
    real = refunds.refund_if_stale

    async def failing(uow: Any, guild_id: int, number: int) -> Any:
        if number == 1:
            raise RuntimeError("a bug in one market")
        return await real(uow, guild_id, number)

    monkeypatch.setattr(refunds, "refund_if_stale", failing)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=13)) == ([], 2)
    assert await _pass(use_cases, now, CLOSES + timedelta(days=15)) == ([(GUILD, 2)], 0)
    await books_balance(transactions)
