"""Creating and closing markets (`app/services/markets.py`)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from app.domain.audit import AuditAction
from app.domain.errors import Conflict, Forbidden, NotFound, ValidationError
from app.domain.guild import ConfigChange
from app.domain.ledger import TransferReason
from app.domain.market import MarketStatus
from app.services.markets import CreateMarket
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, GUILD, OTHER_GUILD, books_balance, fresh, member
from tests.support.fakes import START, FakeThrottle, FakeTransactions

RAIN = CreateMarket(question="Will it rain?", outcomes=["Yes", "No"], liquidity=500)


async def test_markets_are_numbered_per_guild_and_funded_by_the_house(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    first = await use_cases.create_market(fresh(member(ALICE)), RAIN)
    second = await use_cases.create_market(fresh(member(ALICE)), RAIN)
    elsewhere = await use_cases.create_market(fresh(member(ALICE, guild=OTHER_GUILD)), RAIN)
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    assert first.status == "open" and first.probabilities == [Decimal("0.5"), Decimal("0.5")]
    subsidies = [p.transfer for p in transactions.books.transfers if p.transfer.reason is TransferReason.SUBSIDY]
    assert [t.amount for t in subsidies] == [500, 500, 500]
    house = transactions.books.house(GUILD)
    assert house is not None and house.balance == -1000
    await books_balance(transactions)


async def test_the_default_duration_and_liquidity_come_from_the_server(use_cases: UseCases) -> None:
    market = await use_cases.create_market(fresh(member(ALICE)), CreateMarket(question="Q?", outcomes=["A", "B"]))
    assert market.liquidity == 1000
    assert market.closes_at - market.created_at == timedelta(days=7)


@pytest.mark.parametrize("liquidity", [9, 1_000_001])
async def test_liquidity_out_of_bounds_is_refused_and_changes_nothing(
    use_cases: UseCases, transactions: FakeTransactions, liquidity: int
) -> None:
    with pytest.raises(ValidationError, match="Liquidity must be between 10 and 1,000,000"):
        await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Q?", ["A", "B"], liquidity=liquidity))
    assert transactions.books.markets == {} and transactions.books.transfers == []


async def test_a_creator_role_keeps_creation_to_its_members_and_managers(use_cases: UseCases) -> None:
    manager = fresh(member(BOB, manager=True))
    await use_cases.update_config(manager, ConfigChange(creator_role_id=77))
    with pytest.raises(Forbidden) as refused:
        await use_cases.create_market(fresh(member(ALICE)), RAIN)
    assert getattr(refused.value, "role_id", None) == 77
    assert (await use_cases.create_market(fresh(member(ALICE, roles=frozenset({77}))), RAIN)).number == 1
    assert (await use_cases.create_market(fresh(member(BOB, manager=True)), RAIN)).number == 2


async def test_creating_a_market_is_throttled(use_cases: UseCases, throttle: FakeThrottle) -> None:
    await use_cases.create_market(fresh(member(ALICE)), RAIN)
    assert throttle.calls == [(ALICE, "create")]
    throttle.refuse = RuntimeError("refused")
    with pytest.raises(RuntimeError):
        await use_cases.create_market(fresh(member(ALICE)), RAIN)


async def test_closing_is_for_the_creator_and_happens_once(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await use_cases.create_market(fresh(member(ALICE)), RAIN)
    with pytest.raises(Forbidden):
        await use_cases.close_market(fresh(member(BOB)), 1)
    closed = await use_cases.close_market(fresh(member(ALICE)), 1)
    assert closed.status == "closed"
    with pytest.raises(Conflict, match="already closed"):
        await use_cases.close_market(fresh(member(ALICE)), 1)
    with pytest.raises(NotFound, match="no market #9"):
        await use_cases.close_market(fresh(member(ALICE)), 9)
    assert [action for _, action, _, _ in transactions.books.audit] == [
        AuditAction.MARKET_CREATE,
        AuditAction.MARKET_CLOSE,
    ]


async def test_expired_markets_close_by_themselves_once(use_cases: UseCases, transactions: FakeTransactions) -> None:
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Soon?", ["A", "B"], closes_in=timedelta(hours=1)))
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Later?", ["A", "B"], closes_in=timedelta(days=2)))
    assert await use_cases.close_expired_markets(START + timedelta(minutes=59)) == []
    assert await use_cases.close_expired_markets(START + timedelta(hours=1)) == [(GUILD, 1)]
    assert await use_cases.close_expired_markets(START + timedelta(hours=2)) == []
    statuses = {m.number: m.status for m in transactions.books.markets.values()}
    assert statuses == {1: MarketStatus.CLOSED, 2: MarketStatus.OPEN}
    actor, action, _, details = transactions.books.audit[-1]
    assert (actor.user_id, action, details) == (0, AuditAction.MARKET_CLOSE, {"number": 1, "expired": True})
