"""The settings-cache consumer drops the changed server's settings, and only theirs."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.events import AggregateType, StoredEvent
from app.services.consumers.settings_cache import ForgetChangedSettings


def _changed(guild_id: int) -> StoredEvent:
    return StoredEvent(
        id="01J0000000000000000000000",
        type="guild.settings_changed",
        version=1,
        aggregate_type=AggregateType.GUILD,
        aggregate_id=guild_id,
        sequence=1,
        guild_id=guild_id,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        actor_id=1,
        interaction_id=None,
        payload={"changes": {"starting_balance": 5}},
    )


async def test_a_settings_change_event_drops_that_servers_settings() -> None:
    held = {7: "settings of 7", 8: "settings of 8"}
    consumer = ForgetChangedSettings(lambda guild_id: held.pop(guild_id, None) and None)
    assert "guild.settings_changed" in consumer.types
    await consumer(_changed(7))
    await consumer.flush()
    assert held == {8: "settings of 8"}
