"""The per-process cache: bounded, expiring, counted; and a server's settings read through it stay true."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.actor import Actor
from app.domain.guild import ConfigChange
from app.persistence.cache import TtlCache
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions
from app.services import admin, queries


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl_and_lookups_are_counted() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache("test", max_entries=10, ttl_seconds=30, clock=clock)
    assert cache.get("a") is None
    cache.put("a", 1)
    clock.now = 29.9
    assert cache.get("a") == 1
    clock.now = 30.0
    assert cache.get("a") is None
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 0)
    assert cache.hit_rate == pytest.approx(1 / 3)


def test_the_least_recently_used_entry_goes_first_past_the_bound() -> None:
    cache: TtlCache[int, int] = TtlCache("test", max_entries=3, ttl_seconds=60, clock=Clock())
    for key in range(3):
        cache.put(key, key)
    assert cache.get(0) == 0  # 0 is now the most recently used
    cache.put(3, 3)
    assert len(cache) == 3 and cache.evictions == 1
    assert cache.get(1) is None and cache.get(0) == 0 and cache.get(3) == 3


def test_the_hit_rate_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    cache: TtlCache[int, int] = TtlCache("test", max_entries=3, ttl_seconds=60, clock=Clock(), log_every=4)
    cache.put(1, 1)
    with caplog.at_level("INFO", logger="hunch.cache"):
        for _ in range(4):
            cache.get(1)
    assert "cache test: 4 hits, 0 misses (100.0% hits)" in caplog.text


async def test_a_settings_change_is_seen_at_once_through_the_cache(database: Database) -> None:
    transactions = Transactions(database)
    manager = Actor(7, 1, is_manager=True)

    async def set_starting_balance(points: int) -> None:
        async def change(uow: Any) -> None:
            await admin.update_config(uow, manager, ConfigChange(starting_balance=points))
            await uow.commit()

        await transactions.run(change)

    await set_starting_balance(700)
    first = await transactions.run(lambda uow: queries.balance(uow, 7, 2))
    hits = database.guild_settings.hits
    again = await transactions.run(lambda uow: queries.balance(uow, 7, 2))
    assert first.balance == again.balance == 700
    assert database.guild_settings.hits == hits + 1  # the second read came from the cache
    await set_starting_balance(900)
    assert (await transactions.run(lambda uow: queries.balance(uow, 7, 2))).balance == 900
