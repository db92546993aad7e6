"""The contract every rate-limiter backend keeps (the semantics `app/ratelimit/base.py` states), `Limit`, and
the package's choice of backend.

`RateLimiterContract` and `SharedStoreContract` are not run here: each backend's module runs them against
that backend (test_memory.py, test_redis_backend.py, test_sql.py), so a backend's tests are in one place.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.ratelimit import (
    Decision,
    Limit,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    build_rate_limiter,
)
from tests.ratelimit.conftest import Backend, at


class RateLimiterContract:
    """Behaviour every backend shares."""

    async def test_allows_up_to_the_limit_within_the_window(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=3, window_seconds=10)
        for second in (0, 1, 2):
            assert await limiter.hit("member:1", limit, now=at(second)) == Decision(allowed=True, retry_at=None)

    async def test_refuses_the_next_hit_until_the_oldest_expires(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=3, window_seconds=10)
        for second in (0, 1, 2):
            assert (await limiter.hit("member:1", limit, now=at(second))).allowed

        decision = await limiter.hit("member:1", limit, now=at(3))
        assert decision.allowed is False
        assert decision.retry_at == at(10)  # oldest hit (t=0) + window
        assert decision.retry_at is not None and decision.retry_at.utcoffset() == timedelta(0)

    async def test_several_keys_at_once_are_hit_all_or_nothing(self, backend: Backend) -> None:
        """A member's limit and their guild's, checked together: a refusal by either records on neither,
        and says when both have room."""
        limiter = await backend.limiter()
        member, guild = Limit(hits=2, window_seconds=10), Limit(hits=3, window_seconds=20)
        checks = [("m:1", member), ("g:1", guild)]
        assert await limiter.hit_all(checks, now=at(0)) == Decision(True, None)
        assert (await limiter.hit_all(checks, now=at(1))).allowed
        assert await limiter.hit_all(checks, now=at(2)) == Decision(False, at(10))  # the member is full
        assert (await limiter.hit_all([("m:2", member), ("g:1", guild)], now=at(3))).allowed  # guild now full
        # Both full: room again when the later of the two frees up (the guild's oldest hit leaves at 20).
        assert await limiter.hit_all(checks, now=at(4)) == Decision(False, at(20))
        # Refused by the guild, the member's key recorded nothing: it has room at 10.
        assert await limiter.hit_all([("m:3", member), ("g:1", guild)], now=at(5)) == Decision(False, at(20))
        assert (await limiter.hit("m:3", member, now=at(5))).allowed
        assert (await limiter.hit("m:3", member, now=at(6))).allowed
        assert (await limiter.hit_all(checks, now=at(21))).allowed

    async def test_a_refusal_records_nothing(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=2, window_seconds=10)
        assert (await limiter.hit("k", limit, now=at(0))).allowed
        assert (await limiter.hit("k", limit, now=at(1))).allowed
        for second in (2, 3, 4, 5, 6, 7, 8, 9):
            assert (await limiter.hit("k", limit, now=at(second))) == Decision(False, at(10))

        # Had any refusal been recorded the window would still be full here.
        assert (await limiter.hit("k", limit, now=at(10))).allowed
        assert await limiter.hit("k", limit, now=at(10.5)) == Decision(False, at(11))
        assert (await limiter.hit("k", limit, now=at(11))).allowed

    async def test_the_window_slides(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=3, window_seconds=10)
        for second in (0, 4, 8):
            assert (await limiter.hit("k", limit, now=at(second))).allowed
        assert await limiter.hit("k", limit, now=at(9.999)) == Decision(False, at(10))
        # Exactly at retry_at the oldest hit has left the window (the window is (now - 10s, now]).
        assert (await limiter.hit("k", limit, now=at(10))).allowed
        assert await limiter.hit("k", limit, now=at(12)) == Decision(False, at(14))
        assert (await limiter.hit("k", limit, now=at(14))).allowed
        assert await limiter.hit("k", limit, now=at(14)) == Decision(False, at(18))
        # Long after, everything has expired.
        for second in (100, 100, 100):
            assert (await limiter.hit("k", limit, now=at(second))).allowed

    async def test_keys_are_independent(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=1, window_seconds=60)
        assert (await limiter.hit("guild:1", limit, now=at(0))).allowed
        assert not (await limiter.hit("guild:1", limit, now=at(1))).allowed
        assert (await limiter.hit("guild:2", limit, now=at(1))).allowed
        assert (await limiter.hit("member:1", limit, now=at(1))).allowed
        assert not (await limiter.hit("guild:2", limit, now=at(2))).allowed

    async def test_reset_forgets_only_that_key(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=1, window_seconds=60)
        assert (await limiter.hit("a", limit, now=at(0))).allowed
        assert (await limiter.hit("b", limit, now=at(0))).allowed
        await limiter.reset("a")
        await limiter.reset("never-used")
        assert (await limiter.hit("a", limit, now=at(1))).allowed
        assert not (await limiter.hit("b", limit, now=at(1))).allowed

    async def test_hits_in_the_same_millisecond_each_count(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=3, window_seconds=1)
        for _ in range(3):
            assert (await limiter.hit("k", limit, now=at(0))).allowed
        assert await limiter.hit("k", limit, now=at(0)) == Decision(False, at(1))

    async def test_fractional_windows(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=1, window_seconds=0.25)
        assert (await limiter.hit("k", limit, now=at(0))).allowed
        assert await limiter.hit("k", limit, now=at(0.2)) == Decision(False, at(0.25))
        assert (await limiter.hit("k", limit, now=at(0.25))).allowed

    async def test_retry_at_accounts_for_a_lowered_limit(self, backend: Backend) -> None:
        # Three hits recorded under a looser limit; with hits=1 the newest of them must leave first.
        limiter = await backend.limiter()
        assert all([(await limiter.hit("k", Limit(3, 10), now=at(s))).allowed for s in (0, 1, 2)])
        assert await limiter.hit("k", Limit(1, 10), now=at(3)) == Decision(False, at(12))
        assert await limiter.hit("k", Limit(2, 10), now=at(3)) == Decision(False, at(11))

    async def test_default_now_is_the_current_time(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        limit = Limit(hits=1, window_seconds=30)
        before = datetime.now(UTC)
        assert (await limiter.hit("k", limit)).allowed
        decision = await limiter.hit("k", limit)
        after = datetime.now(UTC)
        assert not decision.allowed and decision.retry_at is not None
        window = timedelta(seconds=30)
        assert before + window - timedelta(milliseconds=1) <= decision.retry_at <= after + window

    async def test_naive_times_are_refused(self, backend: Backend) -> None:
        limiter = await backend.limiter()
        with pytest.raises(ValueError, match="timezone-aware"):
            await limiter.hit("k", Limit(1, 1), now=datetime(2024, 1, 1))

    async def test_concurrent_hits_across_instances_admit_exactly_the_limit(self, backend: Backend) -> None:
        # Five client instances (five "processes"), fifty simultaneous hits, a limit of ten.
        limiters = [await backend.limiter() for _ in range(5)]
        limit = Limit(hits=10, window_seconds=60)
        decisions = await asyncio.gather(*(limiters[i % 5].hit("guild:1", limit) for i in range(50)))
        assert sum(d.allowed for d in decisions) == 10
        assert all(d.retry_at is not None for d in decisions if not d.allowed)
        assert not (await limiters[0].hit("guild:1", limit)).allowed

    async def test_concurrent_hits_at_one_instant_admit_exactly_the_limit(self, backend: Backend) -> None:
        limiters = [await backend.limiter() for _ in range(5)]
        limit = Limit(hits=10, window_seconds=60)
        decisions = await asyncio.gather(*(limiters[i % 5].hit("k", limit, now=at(0)) for i in range(50)))
        assert sum(d.allowed for d in decisions) == 10
        assert {d.retry_at for d in decisions if not d.allowed} == {at(60)}


class SharedStoreContract:
    """Backends that hold across processes: separate instances over one store see each other's hits."""

    async def test_instances_share_the_store(self, backend: Backend) -> None:
        first, second = await backend.limiter(), await backend.limiter()
        limit = Limit(hits=1, window_seconds=60)
        assert (await first.hit("k", limit, now=at(0))).allowed
        assert await second.hit("k", limit, now=at(1)) == Decision(False, at(60))
        await second.reset("k")
        assert (await first.hit("k", limit, now=at(2))).allowed


async def check_hits_in_flight_together(limiter: Any, after_first_wave: Callable[[], None] = lambda: None) -> None:
    """Thirty hits at once from one process (a member's and the server's key each), then eleven more: each is
    answered exactly as if alone, in arrival order, and a refused hit records nothing on any of its keys.
    `after_first_wave` runs between the two (to look at what the first cost)."""
    member, guild = Limit(hits=2, window_seconds=60), Limit(hits=30, window_seconds=60)

    def trade(user: int) -> Any:
        return limiter.hit_all([(f"m:{user}", member), ("g", guild)], now=at(0))

    # Ten members three times each: every member's third hit is refused by its own key, so the server's key
    # has 20 hits and room for 10 more.
    decisions = await asyncio.gather(*(trade(user) for _ in range(3) for user in range(10)))
    assert [d.allowed for d in decisions] == [True] * 20 + [False] * 10
    assert {d.retry_at for d in decisions[20:]} == {at(60)}
    after_first_wave()
    # The server's key now refuses the eleventh new member: 20 recorded + 10 new = 30.
    more = await asyncio.gather(*(trade(user) for user in range(100, 111)))
    assert [d.allowed for d in more] == [True] * 10 + [False]
    assert more[-1].retry_at == at(60)


# --- Limit, and the package ------------------------------------------------------------------------


def test_limit_validation() -> None:
    for hits, window in [(0, 1), (-1, 1), (True, 1), (1.5, 1), (1, 0), (1, -1), (1, float("inf")), (1, float("nan"))]:
        with pytest.raises(ValueError):
            Limit(hits, window)  # type: ignore[arg-type]
    assert Limit(1, 0.0001).window_ms == 1
    assert Limit(5, 2.5).window_ms == 2500


def test_build_rate_limiter_picks_the_backend(tmp_path: Path) -> None:
    from app.ratelimit.sql import SqlRateLimiter

    calls: list[int] = []

    def engine_factory() -> Any:
        calls.append(1)
        from sqlalchemy.ext.asyncio import create_async_engine

        return create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")

    assert isinstance(build_rate_limiter("redis://127.0.0.1:6379/0", engine_factory), RedisRateLimiter)
    sql = build_rate_limiter(None, engine_factory)
    assert isinstance(sql, SqlRateLimiter)
    assert calls == []  # the engine is made on first use, not at build time
    assert isinstance(build_rate_limiter("", None), MemoryRateLimiter)
    assert isinstance(build_rate_limiter(None, None), MemoryRateLimiter)
    for limiter in (MemoryRateLimiter(), sql, RedisRateLimiter("redis://127.0.0.1:6379/0")):
        assert isinstance(limiter, RateLimiter)


def test_importing_the_package_imports_neither_redis_nor_sqlalchemy() -> None:
    code = (
        "import sys, app.ratelimit as rl\n"
        "rl.build_rate_limiter('redis://127.0.0.1:6379/0', None)\n"
        "rl.build_rate_limiter(None, None)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'sqlalchemy'))\n"
        "assert not heavy, heavy\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
