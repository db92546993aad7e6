"""The gauges read from the database, on Postgres and SQLite: the worker's lag, and members active per window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from app import telemetry
from app.bootstrap import bootstrap
from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.gauges import first_event_id, sample
from app.persistence.outbox import new_event_id
from app.ratelimit import MemoryRateLimiter
from app.services.markets import CreateMarket

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class Gauges:
    def __init__(self) -> None:
        self.values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def record(self, metric: telemetry.Metric, value: float, labels: Mapping[str, str]) -> None:
        self.values[(metric.name, tuple(sorted(labels.items())))] = value


def test_the_first_id_of_a_moment_sorts_before_every_id_made_from_it_on() -> None:
    for moment in (T0, T0 + timedelta(milliseconds=1), T0 + timedelta(days=400)):
        assert first_event_id(moment) <= new_event_id(moment) < first_event_id(moment + timedelta(milliseconds=1))
    assert new_event_id(T0 - timedelta(milliseconds=1)) < first_event_id(T0)


async def test_lag_and_active_members(database: Database) -> None:
    now = [T0 - timedelta(hours=3)]
    hunch = bootstrap(database.settings, database=database, rate_limiter=MemoryRateLimiter(), clock=lambda: now[0])
    creator = Actor(guild_id=1, user_id=10, interaction_id=100, is_manager=True)
    await hunch.use_cases.create_market(creator, CreateMarket(question="Rain?", outcomes=["Yes", "No"]))
    for user, when in (
        (11, T0 - timedelta(hours=2)),
        (12, T0 - timedelta(minutes=10)),
        (12, T0 - timedelta(minutes=5)),
    ):
        now[0] = when
        await hunch.use_cases.buy(Actor(guild_id=1, user_id=user, interaction_id=user * 1000 + when.minute), 1, 0, 10)
    gauges = Gauges()
    telemetry.install(gauges)
    await sample(database, lambda: T0)
    assert gauges.values[("hunch_outbox_lag_seconds", ())] == 3 * 3600  # nothing delivered since the market
    assert gauges.values[("hunch_active_members", (("window", "1h"),))] == 1
    assert gauges.values[("hunch_active_members", (("window", "24h"),))] == 2
