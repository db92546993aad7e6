"""Redis-backed sliding-window limiter: one sorted set per key, checked and updated by one Lua script.

The script runs atomically on the server, so the limit holds across any number of processes and
Lambda instances. ``redis`` is imported on first use, not at module import, to keep cold starts cheap.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.ratelimit.base import ALLOWED, Decision, Limit, from_ms, now_ms

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

# KEYS: one sorted set per key (member = unique hit id, score = hit time in ms)
# ARGV[1] now (ms)   ARGV[2] member for this hit   then for each key i: ARGV[1 + 2i] window (ms),
# ARGV[2 + 2i] allowed hits
# Returns {1} when the hit was recorded on every key, or {0, retry_at_ms} when refused (nothing
# recorded): when every full key's blocking hit (the oldest, when count == limit) has left its window.
_HIT_SCRIPT = """
local now = tonumber(ARGV[1])
local retry_at = nil
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[1 + 2 * i])
  local limit = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local free_at = tonumber(blocking[2]) + window
    if retry_at == nil or free_at > retry_at then retry_at = free_at end
  end
end
if retry_at ~= nil then return {0, retry_at} end
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[1 + 2 * i])
  redis.call('ZADD', key, ARGV[1], ARGV[2])
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', key, tonumber(newest[2]) + window - now)
end
return {1}
"""


class RedisRateLimiter:
    """``url`` is any redis-py URL (``redis://``, ``rediss://``, ``unix://``); extra keyword options
    go to ``redis.asyncio.Redis.from_url`` (query-string options in the URL take precedence).

    Hit times come from ``now`` (or this host's clock), not the Redis server clock, so tests can
    control time; hosts with skewed clocks shift each other's windows by the skew.
    """

    def __init__(self, url: str, *, prefix: str = "hunch:rl:", **client_options: Any) -> None:
        self._url = url
        self._prefix = prefix
        self._client_options = client_options
        self._client: Redis | None = None
        self._script: AsyncScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def hit(self, key: str, limit: Limit, *, now: datetime | None = None) -> Decision:
        return await self.hit_all([(key, limit)], now=now)

    async def hit_all(self, checks: Sequence[tuple[str, Limit]], *, now: datetime | None = None) -> Decision:
        """One round trip, however many keys (in a cluster they must share a hash slot)."""
        at = now_ms(now)
        args: list[int | str] = [at, f"{at}-{secrets.token_hex(8)}"]
        for _, limit in checks:
            args += [limit.window_ms, limit.hits]
        script = self._ensure_client()[1]
        result = await script(keys=[self._prefix + key for key, _ in checks], args=args)
        if int(result[0]) == 1:
            return ALLOWED
        return Decision(allowed=False, retry_at=from_ms(int(result[1])))

    async def reset(self, key: str) -> None:
        client = self._ensure_client()[0]
        await client.delete(self._prefix + key)

    async def ping(self) -> None:
        """Raises when Redis cannot be reached (readiness)."""
        client, _ = self._ensure_client()
        await client.ping()

    async def aclose(self) -> None:
        client, loop = self._client, self._loop
        self._client = self._script = self._loop = None
        if client is not None and loop is _running_loop():
            await client.aclose()

    def _ensure_client(self) -> tuple[Redis, AsyncScript]:
        """Create the client on first use, and again if the running event loop changed (a Lambda
        adapter or test runner that uses a fresh loop per invocation), since redis.asyncio
        connections belong to the loop that opened them."""
        loop = _running_loop()
        if self._client is None or self._script is None or self._loop is not loop:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(self._url, **self._client_options)
            self._script = self._client.register_script(_HIT_SCRIPT)
            self._loop = loop
        return self._client, self._script


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
