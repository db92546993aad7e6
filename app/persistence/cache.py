"""A small per-process cache for what nearly every interaction reads and rarely changes: bounded, with a TTL.

It holds settings, never a balance or a price: a stale entry can only be as old as `ttl_seconds`, and the change
itself drops it at once in the process that made it (the domain event drops it in the process that delivers it).
Hits and misses are counted on the object, and a log line gives the hit rate every `log_every` lookups.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

logger = logging.getLogger("hunch.cache")


class TtlCache(Generic[K, V]):
    """Least recently used entries go first once `max_entries` are held; an entry expires after `ttl_seconds`."""

    def __init__(
        self,
        name: str,
        *,
        max_entries: int,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        log_every: int = 10_000,
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0:
            raise ValueError("a cache holds at least one entry for some time")
        self.name = name
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._log_every = log_every
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self.hits = self.misses = self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is not None and found[0] > self._clock():
            self._entries.move_to_end(key)
            self.hits += 1
            value: V | None = found[1]
        else:
            if found is not None:
                del self._entries[key]
            self.misses += 1
            value = None
        if (self.hits + self.misses) % self._log_every == 0:
            self.log_stats()
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = (self._clock() + self.ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0

    def log_stats(self) -> None:
        logger.info(
            "cache %s: %d hits, %d misses (%.1f%% hits), %d held, %d evicted",
            self.name,
            self.hits,
            self.misses,
            self.hit_rate * 100,
            len(self._entries),
            self.evictions,
            extra={
                "fields": {
                    "cache": self.name,
                    "hits": self.hits,
                    "misses": self.misses,
                    "held": len(self._entries),
                    "evicted": self.evictions,
                }
            },
        )
