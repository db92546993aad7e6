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

from app.ratelimit.base import ALLOWED, CHECK_TIMEOUT_SECONDS, Decision, Limit, from_ms, now_ms
from app.services.batching import BatchLines

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

# A batch of hits, applied in order, each exactly as if alone. KEYS: every hit's keys, one after another (one
# sorted set per key: member = unique hit id, score = hit time in ms). ARGV[1]: the number of hits; then per
# hit: its time (ms), its member id, how many keys it has, and per key its window (ms) and allowed hits.
# Returns one number per hit: 0 when the hit was recorded on every key of it, or, when it was refused (nothing
# recorded), the time (ms) when every full key's blocking hit (the oldest, when count == limit) has left its
# window.
_HIT_SCRIPT = """
local answers = {}
local arg, first = 2, 1
for h = 1, tonumber(ARGV[1]) do
  local now, id, count = tonumber(ARGV[arg]), ARGV[arg + 1], tonumber(ARGV[arg + 2])
  local retry_at = nil
  for i = 0, count - 1 do
    local key = KEYS[first + i]
    local window = tonumber(ARGV[arg + 3 + 2 * i])
    local limit = tonumber(ARGV[arg + 4 + 2 * i])
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local held = redis.call('ZCARD', key)
    if held >= limit then
      local blocking = redis.call('ZRANGE', key, held - limit, held - limit, 'WITHSCORES')
      local free_at = tonumber(blocking[2]) + window
      if retry_at == nil or free_at > retry_at then retry_at = free_at end
    end
  end
  if retry_at ~= nil then
    answers[h] = retry_at
  else
    for i = 0, count - 1 do
      local key = KEYS[first + i]
      local window = tonumber(ARGV[arg + 3 + 2 * i])
      redis.call('ZADD', key, now, id)
      local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      redis.call('PEXPIRE', key, tonumber(newest[2]) + window - now)
    end
    answers[h] = 0
  end
  arg = arg + 3 + 2 * count
  first = first + count
end
return answers
"""
MAX_BATCH = 64


class RedisRateLimiter:
    """``url`` is any redis-py URL (``redis://``, ``rediss://``, ``unix://``); extra keyword options
    go to ``redis.asyncio.Redis.from_url`` (query-string options in the URL take precedence).

    Hit times come from ``now`` (or this host's clock), not the Redis server clock, so tests can
    control time; hosts with skewed clocks shift each other's windows by the skew.

    The hits asked for while one batch is in flight go together in the next, as one call of the script: one
    command and one round trip per batch rather than per hit (the client's own work per command was most of
    what a hit cost the server).
    """

    def __init__(self, url: str, *, prefix: str = "hunch:rl:", **client_options: Any) -> None:
        self._url = url
        self._prefix = prefix
        self._client_options = client_options
        self._client: Redis | None = None
        self._script: AsyncScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._batches = BatchLines(MAX_BATCH)

    async def hit(self, key: str, limit: Limit, *, now: datetime | None = None) -> Decision:
        return await self.hit_all([(key, limit)], now=now)

    async def hit_all(self, checks: Sequence[tuple[str, Limit]], *, now: datetime | None = None) -> Decision:
        """All of a hit's keys, and those of the hits sent with it, in one script call (so not on a Redis
        Cluster: the keys carry no hash tags)."""
        if not checks:
            return ALLOWED
        at = now_ms(now)
        return await self._batches.submit("hits", (checks, at), self._apply_batch)  # type: ignore[no-any-return]

    async def _apply_batch(self, hits: list[tuple[Sequence[tuple[str, Limit]], int]]) -> list[Decision]:
        keys: list[str] = []
        args: list[int | str] = [len(hits)]
        for checks, at in hits:
            args += [at, f"{at}-{secrets.token_hex(8)}", len(checks)]
            for key, limit in checks:
                keys.append(self._prefix + key)
                args += [limit.window_ms, limit.hits]
        script = self._ensure_client()[1]
        # Bounded: every check of the process waits on this batch (past the bound the throttle lets them through).
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            answers = await script(keys=keys, args=args)
        return [
            ALLOWED if int(answer) == 0 else Decision(allowed=False, retry_at=from_ms(int(answer)))
            for answer in answers
        ]

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
