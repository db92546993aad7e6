"""Discord's rate limits, honoured the way discord.py's `http.py` honours them.

* Routes are keyed by method and path template; Discord's `X-RateLimit-Bucket` tells which routes share a
  limit, and the major parameters (channel, guild, webhook and its token) split a bucket per resource.
* A bucket whose `X-RateLimit-Remaining` reached 0 makes the next request on it wait for
  `X-RateLimit-Reset-After`; requests on one bucket go one at a time.
* A 429 waits `retry_after` (body), on the bucket, or on every route when it is global.
* Invalid requests (401, 403, and 429 other than `shared`) are counted over the last 10 minutes: past
  `invalid_ceiling` (well below Discord's 10,000, after which Cloudflare bans the IP) requests are refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

INVALID_WINDOW = 600.0
INVALID_STATUSES = frozenset({401, 403, 429})


@dataclass
class _Bucket:
    remaining: int = 1
    reset_at: float = 0.0  # clock() time at which `remaining` refills
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class TooManyInvalidRequests(Exception):
    """The invalid-request count is near Discord's ban threshold: nothing is sent until it falls."""


class RateLimits:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        invalid_ceiling: int = 5000,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._hashes: dict[str, str] = {}  # route key -> Discord's bucket hash
        self._buckets: dict[str, _Bucket] = {}
        self._global_until = 0.0
        self._invalid: deque[float] = deque()
        self.invalid_ceiling = invalid_ceiling

    def bucket(self, route_key: str, major: str) -> _Bucket:
        key = f"{self._hashes.get(route_key, route_key)}:{major}"
        found = self._buckets.get(key)
        if found is None:
            if len(self._buckets) > 1024:  # forget buckets long since reset
                now = self._clock()
                for stale in [k for k, b in self._buckets.items() if b.reset_at < now - 300 and not b.lock.locked()]:
                    del self._buckets[stale]
            found = self._buckets[key] = _Bucket()
        return found

    def wait_for(self, bucket: _Bucket) -> float:
        """Seconds to wait before a request on `bucket` may go."""
        now = self._clock()
        wait = max(0.0, self._global_until - now)
        if bucket.remaining <= 0 and bucket.reset_at > now:
            wait = max(wait, bucket.reset_at - now)
        return wait

    async def sleep(self, seconds: float) -> None:
        await self._sleep(seconds)

    def learned(self, route_key: str, major: str, bucket: _Bucket, headers: dict[str, str]) -> None:
        """Take the bucket's state from a response's headers."""
        targets = [bucket]
        discord_hash = headers.get("x-ratelimit-bucket")
        if discord_hash and self._hashes.get(route_key) != discord_hash:
            # Another route may have met this limit first: from now on both use its bucket.
            self._hashes[route_key] = discord_hash
            shared = self._buckets.setdefault(f"{discord_hash}:{major}", bucket)
            if shared is not bucket:
                targets.append(shared)
        remaining, reset_after = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset-after")
        for target in targets:
            if remaining is not None:
                try:
                    target.remaining = int(remaining)
                    if reset_after is not None:
                        target.reset_at = self._clock() + max(0.0, float(reset_after))
                except ValueError:
                    pass
            elif target.remaining <= 0 and target.reset_at <= self._clock():
                target.remaining = 1

    def limited(self, bucket: _Bucket, retry_after: float, *, is_global: bool) -> None:
        until = self._clock() + retry_after
        if is_global:
            self._global_until = max(self._global_until, until)
        else:
            bucket.remaining, bucket.reset_at = 0, max(bucket.reset_at, until)

    def count_invalid(self, status: int, scope: str | None) -> None:
        if status in INVALID_STATUSES and not (status == 429 and scope == "shared"):
            self._invalid.append(self._clock())

    def invalid_recently(self) -> int:
        cutoff = self._clock() - INVALID_WINDOW
        while self._invalid and self._invalid[0] < cutoff:
            self._invalid.popleft()
        return len(self._invalid)

    def check_invalid(self) -> None:
        if self.invalid_recently() >= self.invalid_ceiling:
            raise TooManyInvalidRequests(
                f"{self.invalid_ceiling:,} invalid requests in the last 10 minutes: holding back to stay clear of "
                "Discord's ban at 10,000"
            )
