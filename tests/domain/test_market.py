"""A market's life cycle and who may settle it (`app/domain/market.py`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain.actor import Actor
from app.domain.errors import Conflict, Forbidden, RoleRequired
from app.domain.market import (
    Market,
    MarketStatus,
    as_utc,
    refund_due_at,
    require_may_create,
    require_may_settle,
    require_may_unresolve,
    spoken_duration,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def market(status: MarketStatus = MarketStatus.OPEN, creator: int = 1, shares: tuple[int, ...] = (0, 0)) -> Market:
    return Market(
        id=1,
        guild_id=9,
        number=4,
        question="Q?",
        description="",
        outcomes=("Yes", "No"),
        shares=shares,
        liquidity=1000,
        status=status,
        creator_id=creator,
        channel_id=None,
        pool_account_id=2,
        volume=0,
        trade_count=0,
        closes_at=NOW + timedelta(hours=1),
        created_at=NOW,
    )


def test_statuses_know_which_are_settled() -> None:
    assert [s.is_settled for s in MarketStatus] == [False, False, True, True]


def test_a_market_stops_trading_at_its_close_time() -> None:
    m = market()
    assert m.is_trading(NOW) and m.state(NOW).is_open
    assert not m.is_trading(NOW + timedelta(hours=1)) and not m.state(NOW + timedelta(hours=1)).is_open
    assert not market(MarketStatus.CLOSED).is_trading(NOW)


def test_the_state_reads_micro_shares() -> None:
    state = market(shares=(1_500_000, 0)).state()
    assert state.shares == (Decimal("1.5"), Decimal(0))
    assert market().probabilities() == (Decimal("0.5"), Decimal("0.5"))


def test_naive_times_are_utc() -> None:
    assert as_utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert as_utc(NOW) is NOW


def test_who_may_create() -> None:
    require_may_create(Actor(9, 5), None)
    require_may_create(Actor(9, 5, role_ids=frozenset({3})), 3)
    require_may_create(Actor(9, 5, is_manager=True), 3)
    with pytest.raises(RoleRequired) as refused:
        require_may_create(Actor(9, 5, role_ids=frozenset({4})), 3)
    assert refused.value.role_id == 3 and refused.value.action == "create markets here"


@pytest.mark.parametrize(
    ("actor", "allowed"),
    [
        (Actor(9, 1), True),  # the creator
        (Actor(9, 5, is_manager=True), True),
        (Actor(9, 5, role_ids=frozenset({7})), True),  # the resolver role
        (Actor(9, 5, role_ids=frozenset({8})), False),
        (Actor(9, 5), False),
    ],
)
def test_who_may_settle(actor: Actor, allowed: bool) -> None:
    if allowed:
        require_may_settle(actor, market(), 7)
    else:
        with pytest.raises(Forbidden):
            require_may_settle(actor, market(), 7)


def test_a_settled_market_cannot_be_settled_again() -> None:
    with pytest.raises(Conflict, match="already cancelled"):
        require_may_settle(Actor(9, 1), market(MarketStatus.CANCELLED), None)


def settled(at: datetime, status: MarketStatus = MarketStatus.RESOLVED) -> Market:
    return replace(market(status), settled_at=at, closed_at=at)


@pytest.mark.parametrize(
    ("actor", "after", "allowed"),
    [
        (Actor(9, 1), timedelta(minutes=10), True),  # the creator, within the window
        (Actor(9, 1), timedelta(minutes=10, seconds=1), False),
        (Actor(9, 5, is_manager=True), timedelta(days=7), True),
        (Actor(9, 5, is_manager=True), timedelta(days=7, seconds=1), False),
        (Actor(9, 5, role_ids=frozenset({7})), timedelta(days=3), True),  # the resolver role
        (Actor(9, 5, role_ids=frozenset({8})), timedelta(0), False),
    ],
)
def test_who_may_unresolve_and_until_when(actor: Actor, after: timedelta, allowed: bool) -> None:
    if allowed:
        require_may_unresolve(actor, settled(NOW), 7, 600, NOW + after)
    else:
        with pytest.raises((Forbidden, Conflict)):
            require_may_unresolve(actor, settled(NOW), 7, 600, NOW + after)


def test_an_unsettled_market_cannot_be_unresolved_and_a_window_of_zero_leaves_it_to_resolvers() -> None:
    with pytest.raises(Conflict, match="not resolved or cancelled"):
        require_may_unresolve(Actor(9, 1), market(MarketStatus.CLOSED), None, 600, NOW)
    with pytest.raises(Forbidden, match="only a resolver or a server manager"):
        require_may_unresolve(Actor(9, 1), settled(NOW, MarketStatus.CANCELLED), None, 0, NOW)
    with pytest.raises(Forbidden, match="within 1 hour of its settlement"):
        require_may_unresolve(Actor(9, 1), settled(NOW), None, 3600, NOW + timedelta(hours=2))


def test_a_deferred_request_older_than_the_settlement_does_not_undo_a_newer_one() -> None:
    with pytest.raises(Conflict, match="settled again after you asked"):
        require_may_unresolve(Actor(9, 5, is_manager=True), settled(NOW), None, 600, NOW - timedelta(minutes=1))


def test_the_market_makers_state_is_the_outstanding_shares_plus_the_shift() -> None:
    shifted = replace(market(shares=(2_000_000, 0)), shift=(0, 3_000_000))
    assert shifted.maker_shares() == (2_000_000, 3_000_000)
    assert shifted.outstanding((2_500_000, 3_000_000)) == (500_000 + 2_000_000, 0)
    assert shifted.state().shares == (Decimal(2), Decimal(3))
    assert market(shares=(5, 6)).maker_shares() == (5, 6)  # no shift: the same shares


def test_a_refund_is_due_after_the_delay_and_a_day_after_the_creator_was_reminded() -> None:
    day = 86400
    closed = replace(market(MarketStatus.CLOSED), closed_at=NOW)
    assert refund_due_at(closed, 14 * day) is None  # the creator not told yet: never due
    told_on_time = replace(closed, refund_reminded_at=NOW + timedelta(days=13))
    assert refund_due_at(told_on_time, 14 * day) == NOW + timedelta(days=14)
    told_late = replace(closed, refund_reminded_at=NOW + timedelta(days=30))  # found already past its delay
    assert refund_due_at(told_late, 14 * day) == NOW + timedelta(days=31)
    assert refund_due_at(told_late, 0) is None  # refunds off
    assert refund_due_at(replace(told_late, status=MarketStatus.RESOLVED), 14 * day) is None


def test_spoken_durations() -> None:
    assert [spoken_duration(s) for s in (60, 600, 3600, 86400, 14 * 86400, 90)] == [
        "1 minute",
        "10 minutes",
        "1 hour",
        "1 day",
        "14 days",
        "90 seconds",
    ]
