"""Settling markets with thousands of holders on the real databases: every payout exact to the point, in a
bounded number of statements, and the books balanced afterwards."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions
from app.services import settlement
from app.services.idempotency import execute
from app.services.results import TOP_PAYOUTS, Settlement
from app.services.verify import verify_ledger
from models.tables import accounts
from tests.persistence.test_ledger import statements
from tests.support.seeding import credited, holdings, market_with_holders, rows

GUILD = 900000000000000001
MANAGER = Actor(GUILD, 1, is_manager=True)


async def _settle(database: Database, work: Any) -> Settlement:
    actor = Actor(GUILD, 1, is_manager=True, interaction_id=424242)
    return await execute(Transactions(database), actor, "settle", Settlement, lambda uow: work(uow, actor))


async def _balanced(database: Database) -> None:
    assert await Transactions(database).run(verify_ledger) == []
    negative = await rows(
        Transactions(database), sa.select(accounts.c.id).where(accounts.c.kind != "house", accounts.c.balance < 0)
    )
    assert negative == []


async def _market(database: Database, holders: int, **kwargs: Any) -> tuple[int, int]:
    market = await market_with_holders(Transactions(database), GUILD, range(1000, 1000 + holders), **kwargs)
    return market.id, market.number


@pytest.mark.parametrize("holders", [5000])
async def test_a_resolution_of_thousands_of_holders_pays_each_exactly(pg_database: Database, holders: int) -> None:
    market_id, number = await _market(pg_database, holders)
    held = await holdings(Transactions(pg_database), market_id)
    with statements(pg_database) as sent:
        settled = await _settle(pg_database, lambda uow, a: settlement.resolve_market(uow, a, number, "Yes"))
    expected = {a: h["shares"][0] // 10**6 for a, h in held.items() if h["shares"][0] >= 10**6}
    assert await credited(Transactions(pg_database), market_id, "payout") == expected
    assert settled.total_paid == sum(expected.values()) and settled.paid_count == len(expected) == holders // 2
    assert len(settled.payouts) == TOP_PAYOUTS
    assert len(sent) < 20  # a bounded number of statements, whatever the number of holders
    await _balanced(pg_database)


async def test_a_weighted_resolution_of_thousands_of_holders_floors_each_member(pg_database: Database) -> None:
    market_id, number = await _market(pg_database, 5000, outcomes=("Red", "Green", "Blue"))
    held = await holdings(Transactions(pg_database), market_id)
    weights = [50, 33, 17]
    settled = await _settle(
        pg_database, lambda uow, a: settlement.resolve_market_weighted(uow, a, number, "Red 50, Green 33, Blue 17")
    )
    expected = {}
    for account, h in held.items():
        pay = sum(h["shares"][i] * w for i, w in enumerate(weights)) // (100 * 10**6)
        if pay:
            expected[account] = pay
    assert await credited(Transactions(pg_database), market_id, "payout") == expected
    assert settled.paid_count == len(expected)
    await _balanced(pg_database)


async def test_a_cancellation_of_thousands_of_holders_refunds_each_exactly(pg_database: Database) -> None:
    market_id, number = await _market(pg_database, 5000, sell_every=7, liquidity=20_000, stake=lambda n: 20 + n % 50)
    held = await holdings(Transactions(pg_database), market_id)
    settled = await _settle(pg_database, lambda uow, a: settlement.cancel_market(uow, a, number, "void"))
    expected = {a: h["paid"] - h["out"] for a, h in held.items() if h["paid"] > h["out"]}
    assert await credited(Transactions(pg_database), market_id, "refund") == expected
    assert settled.total_paid == sum(expected.values())
    await _balanced(pg_database)


async def test_settling_on_sqlite_goes_in_chunks_and_is_as_exact(database: Database) -> None:
    market_id, number = await _market(database, 1200)
    held = await holdings(Transactions(database), market_id)
    await _settle(database, lambda uow, a: settlement.resolve_market(uow, a, number, "No"))
    expected = {a: h["shares"][1] // 10**6 for a, h in held.items() if h["shares"][1] >= 10**6}
    assert await credited(Transactions(database), market_id, "payout") == expected
    await _balanced(database)
