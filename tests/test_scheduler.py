"""The periodic work (`app/scheduler.py`) on the use cases' fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app import scheduler
from app.domain.actor import Actor
from app.scheduler import Housekeeping, run_once
from app.services.markets import CreateMarket
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.support.fakes import START, FakeThrottle, FakeTransactions


async def test_a_pass_closes_expired_markets_and_purges_in_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler, "PURGE_BATCH", 2)
    now = [START]
    transactions = FakeTransactions(clock=lambda: now[0])
    use_cases = UseCases(transactions, TradingDesk(transactions), FakeThrottle())
    for n in range(5):  # five recorded interactions, the first of them creating a market
        actor = Actor(1, 10 + n, interaction_id=100 + n)
        await use_cases.create_market(actor, CreateMarket(f"Q{n}?", ["A", "B"], closes_in=timedelta(hours=1)))
    limiter_batches = iter([2, 2, 1, 0])

    async def purge_rate_limits() -> int:
        return next(limiter_batches)

    now[0] = START + timedelta(hours=25)
    result = await run_once(use_cases, lambda: now[0], Housekeeping(timedelta(hours=24), purge_rate_limits))
    assert len(result["closed"]) == 5
    assert result["records_purged"] == 5 and transactions.books.records == {}
    assert result["rate_limit_rows_purged"] == 5  # stopped at the first short batch
    again = await run_once(use_cases, lambda: now[0], Housekeeping(timedelta(hours=24)))
    assert again == {"closed": [], "records_purged": 0, "rate_limit_rows_purged": 0}


async def test_records_younger_than_the_retention_are_kept() -> None:
    transactions = FakeTransactions()
    use_cases = UseCases(transactions, TradingDesk(transactions), FakeThrottle())
    await use_cases.give(Actor(1, 10, interaction_id=5), 11, 1)
    result = await run_once(use_cases, lambda: START + timedelta(hours=23), Housekeeping(timedelta(hours=24)))
    assert result["records_purged"] == 0 and 5 in transactions.books.records
