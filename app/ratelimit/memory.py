"""In-process sliding-window limiter: for development, tests and single-process deployments.

It does not hold across processes or Lambda instances; use the Redis or SQL backend there.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from datetime import datetime

from app.ratelimit.base import ALLOWED, Decision, Limit, latest, now_ms, refused


class MemoryRateLimiter:
    """A sorted list of hit times per key.

    The check-and-record section contains no ``await``, so it is atomic on an event loop by
    construction; the (uncontended, microsecond) ``threading.Lock`` additionally keeps it correct when
    one instance is shared by several event loops or threads (e.g. Starlette's TestClient runs the
    app on a loop in another thread) — an ``asyncio.Lock`` would bind itself to one loop.
    """

    def __init__(self, *, sweep_every: int = 1024) -> None:
        self._hits: dict[str, list[int]] = {}
        self._expires_ms: dict[str, int] = {}  # when the newest hit of each key leaves its window
        self._lock = threading.Lock()
        self._sweep_every = max(1, sweep_every)
        self._calls_since_sweep = 0

    async def hit(self, key: str, limit: Limit, *, now: datetime | None = None) -> Decision:
        return await self.hit_all([(key, limit)], now=now)

    async def hit_all(self, checks: Sequence[tuple[str, Limit]], *, now: datetime | None = None) -> Decision:
        at = now_ms(now)
        with self._lock:
            self._maybe_sweep(at)
            refusals = []
            for key, limit in checks:
                stamps = self._hits.get(key)
                if stamps is None:
                    stamps = self._hits[key] = []
                del stamps[: bisect.bisect_right(stamps, at - limit.window_ms)]
                if len(stamps) >= limit.hits:
                    refusals.append(refused(stamps[len(stamps) - limit.hits], limit))
            if refusals:
                return latest(refusals)
            for key, limit in checks:
                stamps = self._hits[key]
                bisect.insort(stamps, at)  # sorted even if callers pass times out of order
                self._expires_ms[key] = max(self._expires_ms.get(key, 0), stamps[-1] + limit.window_ms)
            return ALLOWED

    async def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)
            self._expires_ms.pop(key, None)

    async def aclose(self) -> None:
        """Nothing to release; present so every backend can be closed the same way."""

    def _maybe_sweep(self, at: int) -> None:
        """Every ``sweep_every`` calls drop keys whose hits have all expired, so memory stays bounded
        by the number of recently active keys rather than every key ever seen."""
        self._calls_since_sweep += 1
        if self._calls_since_sweep < self._sweep_every:
            return
        self._calls_since_sweep = 0
        dead = [key for key, expires in self._expires_ms.items() if expires <= at]
        for key in dead:
            del self._expires_ms[key]
            self._hits.pop(key, None)
        for key in [key for key, stamps in self._hits.items() if not stamps]:
            del self._hits[key]
