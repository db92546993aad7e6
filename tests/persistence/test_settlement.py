"""Settling markets with thousands of holders on the real databases: every payout exact to the point, in a
bounded number of statements, and the books balanced afterwards."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
import sqlalchemy as sa

from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import settlement
from app.services.idempotency import execute
from app.services.results import TOP_PAYOUTS, Settlement
from app.services.verify import verify_ledger
from models.tables import accounts, positions, transfers
from tests.persistence.test_ledger import statements
from tests.support.seeding import market_with_holders

GUILD = 900000000000000001
MANAGER = Actor(GUILD, 1, is_manager=True)


async def _rows(database: Database, query: Any) -> list[Any]:
    async def read(uow: UnitOfWork) -> list[Any]:
        return list(await uow.conn.execute(query))

    return await Transactions(database).run(read)


async def _held(database: Database, market_id: int) -> dict[int, dict[str, Any]]:
    """Each holder's micro-shares per outcome and flows, read straight from the positions table."""
    held: dict[int, dict[str, Any]] = defaultdict(lambda: {"shares": defaultdict(int), "paid": 0, "out": 0})
    query = sa.select(positions).where(positions.c.market_id == market_id)
    for row in await _rows(database, query):
        entry = held[row.account_id]
        entry["shares"][row.outcome] += row.shares
        entry["paid"] += row.paid_in
        entry["out"] += row.taken_out
    return held


async def _credited(database: Database, market_id: int, reason: str) -> dict[int, int]:
    query = sa.select(transfers.c.credit_account_id, transfers.c.amount).where(
        transfers.c.market_id == market_id, transfers.c.reason == reason
    )
    credited: dict[int, int] = defaultdict(int)
    for account, amount in await _rows(database, query):
        credited[account] += amount
    return dict(credited)


async def _settle(database: Database, work: Any) -> Settlement:
    actor = Actor(GUILD, 1, is_manager=True, interaction_id=424242)
    return await execute(Transactions(database), actor, "settle", Settlement, lambda uow: work(uow, actor))


async def _balanced(database: Database) -> None:
    assert await Transactions(database).run(verify_ledger) == []
    negative = await _rows(database, sa.select(accounts.c.id).where(accounts.c.kind != "house", accounts.c.balance < 0))
    assert negative == []


async def _market(database: Database, holders: int, **kwargs: Any) -> tuple[int, int]:
    market = await market_with_holders(Transactions(database), GUILD, range(1000, 1000 + holders), **kwargs)
    return market.id, market.number


@pytest.mark.parametrize("holders", [5000])
async def test_a_resolution_of_thousands_of_holders_pays_each_exactly(pg_database: Database, holders: int) -> None:
    market_id, number = await _market(pg_database, holders)
    held = await _held(pg_database, market_id)
    with statements(pg_database) as sent:
        settled = await _settle(pg_database, lambda uow, a: settlement.resolve_market(uow, a, number, "Yes"))
    expected = {a: h["shares"][0] // 10**6 for a, h in held.items() if h["shares"][0] >= 10**6}
    assert await _credited(pg_database, market_id, "payout") == expected
    assert settled.total_paid == sum(expected.values()) and settled.paid_count == len(expected) == holders // 2
    assert len(settled.payouts) == TOP_PAYOUTS
    assert len(sent) < 20  # a bounded number of statements, whatever the number of holders
    await _balanced(pg_database)


async def test_a_weighted_resolution_of_thousands_of_holders_floors_each_member(pg_database: Database) -> None:
    market_id, number = await _market(pg_database, 5000, outcomes=("Red", "Green", "Blue"))
    held = await _held(pg_database, market_id)
    weights = [50, 33, 17]
    settled = await _settle(
        pg_database, lambda uow, a: settlement.resolve_market_weighted(uow, a, number, "Red 50, Green 33, Blue 17")
    )
    expected = {}
    for account, h in held.items():
        pay = sum(h["shares"][i] * w for i, w in enumerate(weights)) // (100 * 10**6)
        if pay:
            expected[account] = pay
    assert await _credited(pg_database, market_id, "payout") == expected
    assert settled.paid_count == len(expected)
    await _balanced(pg_database)


async def test_a_cancellation_of_thousands_of_holders_refunds_each_exactly(pg_database: Database) -> None:
    market_id, number = await _market(pg_database, 5000, sell_every=7, liquidity=20_000, stake=lambda n: 20 + n % 50)
    held = await _held(pg_database, market_id)
    settled = await _settle(pg_database, lambda uow, a: settlement.cancel_market(uow, a, number, "void"))
    expected = {a: h["paid"] - h["out"] for a, h in held.items() if h["paid"] > h["out"]}
    assert await _credited(pg_database, market_id, "refund") == expected
    assert settled.total_paid == sum(expected.values())
    await _balanced(pg_database)


async def test_settling_on_sqlite_goes_in_chunks_and_is_as_exact(database: Database) -> None:
    market_id, number = await _market(database, 1200)
    held = await _held(database, market_id)
    await _settle(database, lambda uow, a: settlement.resolve_market(uow, a, number, "No"))
    expected = {a: h["shares"][1] // 10**6 for a, h in held.items() if h["shares"][1] >= 10**6}
    assert await _credited(database, market_id, "payout") == expected
    await _balanced(database)
