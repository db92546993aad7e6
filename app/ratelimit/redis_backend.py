"""Redis-backed sliding-window limiter: one sorted set per key, checked and updated by one Lua script.

The script runs atomically on the server, so the limit holds across any number of processes and
Lambda instances. ``redis`` is imported on first use, not at module import, to keep cold starts cheap.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.ratelimit.base import ALLOWED, Decision, Limit, now_ms, refused

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

# KEYS[1] sorted set (member = unique hit id, score = hit time in ms)
# ARGV[1] now (ms)   ARGV[2] now - window (ms)   ARGV[3] window (ms)   ARGV[4] allowed hits
# ARGV[5] member for this hit
# Returns {1} when the hit was recorded, or {0, blocking_hit_ms} when refused (nothing recorded):
# the hit that has to leave the window before another fits (the oldest, when count == limit).
_HIT_SCRIPT = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, ARGV[1], ARGV[5])
  local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', key, tonumber(newest[2]) + window - now)
  return {1}
end
local blocking = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {0, tonumber(blocking[2])}
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
        at = now_ms(now)
        window = limit.window_ms
        member = f"{at}-{secrets.token_hex(8)}"
        script = self._ensure_client()[1]
        result = await script(
            keys=[self._prefix + key],
            args=[at, at - window, window, limit.hits, member],
        )
        if int(result[0]) == 1:
            return ALLOWED
        return refused(int(result[1]), limit)

    async def reset(self, key: str) -> None:
        client = self._ensure_client()[0]
        await client.delete(self._prefix + key)

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
