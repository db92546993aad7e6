"""The periodic work (`app/scheduler.py`) on the use cases' fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import scheduler
from app.domain.actor import Actor
from app.domain.events import MarketClosingSoon
from app.domain.guild import ConfigChange
from app.scheduler import Housekeeping, run_once
from app.services.markets import CreateMarket
from app.services.rows import Followup
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from models.discord.interactions import TOKEN_LIFETIME
from tests.support.fakes import START, FakeThrottle, FakeTransactions


async def test_a_pass_closes_expired_markets_and_purges_in_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler, "PURGE_BATCH", 2)
    now = [START]
    transactions = FakeTransactions(clock=lambda: now[0])
    use_cases = UseCases(transactions, TradingDesk(transactions), FakeThrottle())
    for n in range(5):  # five recorded interactions, each creating a market whose reply it keeps a token of
        actor = Actor(1, 10 + n, interaction_id=100 + n, channel_id=7)
        followup = Followup(100 + n, 1, f"token-{n}", START + TOKEN_LIFETIME)
        cmd = CreateMarket(f"Q{n}?", ["A", "B"], closes_in=timedelta(hours=1), channel_id=7, followup=followup)
        await use_cases.create_market(actor, cmd)
    limiter_batches = iter([2, 2, 1, 0])

    async def purge_rate_limits() -> int:
        return next(limiter_batches)

    now[0] = START + timedelta(hours=25)
    result = await run_once(use_cases, lambda: now[0], Housekeeping(timedelta(hours=24), purge_rate_limits))
    assert len(result["closed"]) == 5
    assert result["records_purged"] == 5 and transactions.books.records == {}
    assert result["rate_limit_rows_purged"] == 5  # stopped at the first short batch
    assert result["tokens_purged"] == 5 and transactions.books.followups == {}
    again = await run_once(use_cases, lambda: now[0], Housekeeping(timedelta(hours=24)))
    assert again == {
        "closed": [],
        "closings_announced": 0,
        "refunded": [],
        "refunds_reminded": 0,
        "records_purged": 0,
        "tokens_purged": 0,
        "rate_limit_rows_purged": 0,
    }


async def test_markets_closing_within_the_hour_are_announced_once_where_the_server_asked() -> None:
    now = [START]
    transactions = FakeTransactions(clock=lambda: now[0])
    use_cases = UseCases(transactions, TradingDesk(transactions), FakeThrottle())
    admin = Actor(1, 10, is_manager=True)
    await use_cases.update_config(admin, ConfigChange(announce_closing=True))
    for guild_id in (1, 2):  # server 2 never asked
        for hours in (1, 3):
            actor = Actor(guild_id, 10, channel_id=7)
            await use_cases.create_market(actor, CreateMarket("Q?", ["A", "B"], closes_in=timedelta(hours=hours)))
    now[0] = START + timedelta(minutes=30)
    first = await run_once(use_cases, lambda: now[0], Housekeeping(timedelta(hours=24)))
    second = await run_once(use_cases, lambda: now[0], Housekeeping(timedelta(hours=24)))
    assert (first["closings_announced"], second["closings_announced"]) == (1, 0)
    announced = [e for _, e in transactions.books.events if isinstance(e, MarketClosingSoon)]
    assert [e.number for e in announced] == [1]
    assert [a.guild_id for a, e in transactions.books.events if isinstance(e, MarketClosingSoon)] == [1]


async def test_records_younger_than_the_retention_are_kept() -> None:
    transactions = FakeTransactions()
    use_cases = UseCases(transactions, TradingDesk(transactions), FakeThrottle())
    await use_cases.give(Actor(1, 10, interaction_id=5), 11, 1)
    result = await run_once(use_cases, lambda: START + timedelta(hours=23), Housekeeping(timedelta(hours=24)))
    assert result["records_purged"] == 0 and 5 in transactions.books.records
