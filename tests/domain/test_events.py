"""Domain events and their versioned payloads (`app/domain/events.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from app.domain import events
from app.domain.events import AggregateType, DomainEvent, StoredEvent, TradeExecuted, upcast


def test_every_type_is_registered_once_with_its_aggregate() -> None:
    assert len(events.TYPES) == len({cls.TYPE for cls in events.TYPES.values()})
    assert events.TYPES["trade.executed"] is TradeExecuted
    assert all(isinstance(cls.AGGREGATE, AggregateType) for cls in events.TYPES.values())


def test_a_payload_is_the_event_without_its_aggregate() -> None:
    trade = TradeExecuted(
        7,
        number=1,
        user_id=2,
        side="buy",
        outcome=0,
        points=5,
        shares=9,
        probabilities=["0.5"],
        volume=5,
        trade_count=1,
    )
    assert "aggregate_id" not in trade.payload() and trade.payload()["points"] == 5


@dataclass(frozen=True)
class Renamed(DomainEvent):
    TYPE = "test.renamed"
    VERSION = 3
    AGGREGATE = AggregateType.GUILD
    title: str
    tags: list[str]


def test_old_versions_are_upcast_one_step_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(events.TYPES, Renamed.TYPE, Renamed)
    monkeypatch.setitem(events.UPCASTERS, ("test.renamed", 1), lambda p: {"title": p["name"]})
    monkeypatch.setitem(events.UPCASTERS, ("test.renamed", 2), lambda p: p | {"tags": []})
    assert upcast("test.renamed", 1, {"name": "old"}) == {"title": "old", "tags": []}
    assert upcast("test.renamed", 2, {"title": "mid"}) == {"title": "mid", "tags": []}
    assert upcast("test.renamed", 3, {"title": "new", "tags": ["a"]}) == {"title": "new", "tags": ["a"]}
    stored = StoredEvent(
        id="x",
        type="test.renamed",
        version=1,
        aggregate_type=AggregateType.GUILD,
        aggregate_id=5,
        sequence=1,
        guild_id=5,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor_id=1,
        interaction_id=None,
        payload={"name": "old"},
    )
    assert stored.event() == Renamed(5, title="old", tags=[])


def test_a_missing_upcaster_is_an_error_not_a_silent_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(events.TYPES, Renamed.TYPE, Renamed)
    with pytest.raises(KeyError):
        upcast("test.renamed", 1, {"name": "old"})


def test_a_settlement_request_of_version_1_reads_as_current_without_its_request_time() -> None:
    v1 = {"number": 3, "kind": "unresolve", "argument": "oops", "user_id": 7, "is_manager": False}
    v1 |= {"role_ids": [], "channel_id": None}
    assert events.SettlementRequested.VERSION == 2
    assert upcast("market.settlement_requested", 1, dict(v1)) == v1 | {"requested_at": None}
    stored = StoredEvent(
        id="x",
        type="market.settlement_requested",
        version=1,
        aggregate_type=AggregateType.MARKET,
        aggregate_id=5,
        sequence=1,
        guild_id=9,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor_id=7,
        interaction_id=None,
        payload=v1,
    )
    assert stored.event() == events.SettlementRequested(5, **v1, requested_at=None)  # type: ignore[arg-type]
