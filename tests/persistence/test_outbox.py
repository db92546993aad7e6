"""Domain events written with their changes, and never without them (`app/persistence/outbox.py`)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from app.domain.actor import Actor
from app.domain.errors import InsufficientBalance
from app.domain.market import Side
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services.markets import CreateMarket
from app.services.trading import Order
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from models.tables import events
from tests.persistence.test_ledger import statements
from tests.support.throttle import no_throttle

GUILD = 900000000000000001
_ids = iter(range(1_600_000_000_000_000_000, 1_700_000_000_000_000_000))


def actor(user: int, *, manager: bool = False) -> Actor:
    return Actor(GUILD, user, is_manager=manager, interaction_id=next(_ids))


def _use_cases(database: Database) -> UseCases:
    transactions = Transactions(database)
    return UseCases(transactions, TradingDesk(transactions), no_throttle)


async def _log(database: Database) -> list[dict[str, Any]]:
    async def read(uow: UnitOfWork) -> list[dict[str, Any]]:
        query = sa.select(events).order_by(events.c.aggregate_type, events.c.aggregate_id, events.c.sequence)
        return [dict(row) for row in (await uow.conn.execute(query)).mappings()]

    return await Transactions(database).run(read)


async def test_every_state_change_records_its_event_numbered_in_its_stream(database: Database) -> None:
    use_cases = _use_cases(database)
    market = await use_cases.create_market(actor(11), CreateMarket("Rain?", ["Yes", "No"]))
    await use_cases.buy(actor(12), 1, "Yes", 100)
    await use_cases.sell(actor(12), 1, "Yes", None)
    await use_cases.claim_daily(actor(13))
    await use_cases.give(actor(13), 12, 5)
    await use_cases.grant(actor(1, manager=True), 13, 50, "prize")
    await use_cases.close_market(actor(11), 1)
    await use_cases.resolve_market(actor(11), 1, "No")
    from app.domain.guild import ConfigChange

    await use_cases.update_config(actor(1, manager=True), ConfigChange(daily_bonus=7))
    log = await _log(database)
    on_market = [(e["type"], e["sequence"]) for e in log if e["aggregate_type"] == "market"]
    assert on_market == [
        ("market.created", 1),
        ("trade.executed", 2),
        ("trade.executed", 3),
        ("market.closed", 4),
        ("market.resolved", 5),
    ]
    assert all(e["aggregate_id"] == market.id for e in log if e["aggregate_type"] == "market")
    types = Counter(e["type"] for e in log)
    assert types["wallet.daily_claimed"] == types["wallet.given"] == types["wallet.granted"] == 1
    assert types["guild.settings_changed"] == 1
    trade = next(e for e in log if e["type"] == "trade.executed")
    assert trade["payload"]["side"] == "buy" and trade["payload"]["points"] == 100
    assert trade["version"] == 1 and trade["actor_id"] == 12
    assert trade["interaction_id"] is not None and len(trade["id"]) == 36
    resolved = next(e for e in log if e["type"] == "market.resolved")
    assert resolved["payload"]["resolution"] == {"outcome": 1} and resolved["payload"]["paid_count"] == 0


async def test_a_refused_or_rolled_back_change_leaves_no_event(database: Database) -> None:
    use_cases = _use_cases(database)
    await use_cases.create_market(actor(11), CreateMarket("Rain?", ["Yes", "No"]))
    with pytest.raises(InsufficientBalance):
        await use_cases.buy(actor(12), 1, "Yes", 10**6)
    before = len(await _log(database))

    async def trade_then_roll_back(uow: UnitOfWork) -> None:
        from app.services.trading import trade

        filled = await trade(uow, [Order(actor(12), Side.BUY, 1, "No", amount=10)])
        assert not isinstance(filled[0], Exception)
        await uow.flush()  # written, but the transaction never commits

    await Transactions(database).run(trade_then_roll_back)
    assert len(await _log(database)) == before


async def test_a_batch_of_trades_writes_its_events_in_the_same_single_statement(pg_database: Database) -> None:
    use_cases = _use_cases(pg_database)
    await use_cases.create_market(actor(11), CreateMarket("Rain?", ["Yes", "No"]))
    users = [100 + n for n in range(40)]
    for user in users:
        await use_cases.claim_daily(actor(user))  # open their accounts first
    from app.services.trading import trade

    async def batch(uow: UnitOfWork) -> None:
        await trade(uow, [Order(actor(u), Side.BUY, 1, n % 2, amount=5) for n, u in enumerate(users)])
        with statements(pg_database) as sent:
            await uow.commit()
        assert len(sent) == 1  # positions, market, trades, balances, transfers, audit, records and events

    await Transactions(pg_database).run(batch)
    sequences = [e["sequence"] for e in await _log(pg_database) if e["type"] == "trade.executed"]
    assert sequences == list(range(2, 42))


async def test_concurrent_writers_on_one_market_number_its_stream_without_gaps(pg_database: Database) -> None:
    use_cases = _use_cases(pg_database)
    await use_cases.create_market(actor(11), CreateMarket("Rain?", ["Yes", "No"]))
    desks = [TradingDesk(Transactions(pg_database)) for _ in range(3)]
    orders = [Order(actor(200 + n), Side.BUY, 1, n % 2, amount=3) for n in range(60)]
    await asyncio.gather(*(desks[n % 3].trade(o) for n, o in enumerate(orders)))
    sequences = [e["sequence"] for e in await _log(pg_database) if e["aggregate_type"] == "market"]
    assert sequences == list(range(1, 62))
