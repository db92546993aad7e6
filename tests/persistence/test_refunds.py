"""Stale markets refund themselves on the real databases: the due times computed in SQL (Postgres intervals,
SQLite julian days) from each server's setting and the creator's reminder, and every stake refunded exactly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.domain.actor import Actor
from app.domain.guild import ConfigChange
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from app.services.verify import verify_ledger
from models.tables import events, markets
from tests.support.fakes import FakeThrottle
from tests.support.seeding import credited, holdings, market_with_holders, rows

GUILD = 900000000000000001
OTHER = 900000000000000002  # a server that turned refunds off
CLOSED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _use_cases(database: Database, at: datetime) -> UseCases:
    transactions = Transactions(database, lambda: at)
    return UseCases(transactions, TradingDesk(transactions), FakeThrottle())


async def test_a_closed_market_is_reminded_then_refunded_exactly_on_its_servers_schedule(database: Database) -> None:
    market = await market_with_holders(
        Transactions(database), GUILD, range(1000, 1300), liquidity=5000, stake=lambda n: 20 + n % 30, sell_every=5
    )
    off = await market_with_holders(Transactions(database), OTHER, range(1000, 1010))
    await _use_cases(database, CLOSED).update_config(
        Actor(OTHER, 1, is_manager=True, interaction_id=1), ConfigChange(auto_refund_after_seconds=0)
    )
    for guild, number in ((GUILD, market.number), (OTHER, off.number)):
        await _use_cases(database, CLOSED).close_market(Actor(guild, 1, is_manager=True, interaction_id=guild), number)
    held = await holdings(Transactions(database), market.id)

    async def run(at: datetime) -> tuple[list[tuple[int, int]], int]:
        use_cases = _use_cases(database, at)
        return await use_cases.refund_stale_markets(at), await use_cases.remind_refunds(at)

    assert await run(CLOSED + timedelta(days=12, hours=23, minutes=59)) == ([], 0)
    assert await run(CLOSED + timedelta(days=13, minutes=1)) == ([], 1)
    assert await run(CLOSED + timedelta(days=13, hours=5)) == ([], 0)
    reminded = await rows(
        Transactions(database), sa.select(events.c.payload).where(events.c.type == "market.refund_due")
    )
    assert [(p["number"], p["creator_id"]) for (p,) in reminded] == [(market.number, 1000)]
    assert await run(CLOSED + timedelta(days=13, hours=23, minutes=59)) == ([], 0)
    assert await run(CLOSED + timedelta(days=14, seconds=1)) == ([], 0)  # the creator was told a day: not yet
    assert await run(CLOSED + timedelta(days=14, minutes=1)) == ([(GUILD, market.number)], 0)

    expected = {a: h["paid"] - h["out"] for a, h in held.items() if h["paid"] > h["out"]}
    assert await credited(Transactions(database), market.id, "refund") == expected
    statuses = await rows(Transactions(database), sa.select(markets.c.guild_id, markets.c.status))
    assert sorted(statuses) == [(GUILD, "cancelled"), (OTHER, "closed")]
    assert await run(CLOSED + timedelta(days=400)) == ([], 0)
    assert await Transactions(database).run(verify_ledger) == []


async def test_a_market_already_past_its_refund_time_is_reminded_first_and_refunded_a_day_later(
    database: Database,
) -> None:
    # One market meets a lowered setting, one an upgrade that gave its server the 14-day default long after it
    # closed: neither is refunded before its creator has had the reminder a day.
    lowered = await market_with_holders(Transactions(database), GUILD, range(1000, 1010), liquidity=500)
    old = await market_with_holders(Transactions(database), OTHER, range(1000, 1010), liquidity=500)
    for guild, number in ((GUILD, lowered.number), (OTHER, old.number)):
        await _use_cases(database, CLOSED).close_market(Actor(guild, 1, is_manager=True, interaction_id=guild), number)
    later = CLOSED + timedelta(days=30)
    await _use_cases(database, later).update_config(
        Actor(GUILD, 1, is_manager=True, interaction_id=8), ConfigChange(auto_refund_after_seconds=2 * 86400)
    )

    async def run(at: datetime) -> tuple[list[tuple[int, int]], int]:
        use_cases = _use_cases(database, at)
        return await use_cases.refund_stale_markets(at), await use_cases.remind_refunds(at)

    assert await run(later) == ([], 2)
    reminded = await rows(
        Transactions(database), sa.select(events.c.payload).where(events.c.type == "market.refund_due")
    )
    tomorrow = (later + timedelta(days=1)).isoformat()
    assert sorted((p["number"], p["refund_at"]) for (p,) in reminded) == [(1, tomorrow), (1, tomorrow)]
    assert await run(later + timedelta(hours=23, minutes=59)) == ([], 0)
    refunded = sorted((await run(later + timedelta(days=1)))[0])
    assert refunded == [(GUILD, lowered.number), (OTHER, old.number)]
    assert await Transactions(database).run(verify_ledger) == []


async def test_overlapping_passes_remind_each_creator_once(pg_database: Database) -> None:
    numbers = []
    for n in range(30):
        market = await market_with_holders(Transactions(pg_database), GUILD, range(1000, 1003), liquidity=100)
        actor = Actor(GUILD, 1, is_manager=True, interaction_id=100 + n)
        await _use_cases(pg_database, CLOSED).close_market(actor, market.number)
        numbers.append(market.number)
    at = CLOSED + timedelta(days=13, hours=1)
    counts = await asyncio.gather(*(_use_cases(pg_database, at).remind_refunds(at) for _ in range(4)))
    reminded = await rows(
        Transactions(pg_database), sa.select(events.c.payload).where(events.c.type == "market.refund_due")
    )
    assert sum(counts) == 30
    assert sorted(p["number"] for (p,) in reminded) == numbers
