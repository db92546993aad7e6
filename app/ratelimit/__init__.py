"""Sliding-window rate limiting (trades and market creation, per member and per guild).

Backends: ``MemoryRateLimiter`` (one process), ``RedisRateLimiter`` and ``SqlRateLimiter`` (hold
across processes and Lambda instances). Importing this package imports neither redis nor
sqlalchemy: ``SqlRateLimiter`` is loaded on first attribute access, and ``RedisRateLimiter`` imports
redis on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.ratelimit.base import Decision, Limit, RateLimiter
from app.ratelimit.memory import MemoryRateLimiter
from app.ratelimit.redis_backend import RedisRateLimiter

if TYPE_CHECKING:
    from app.ratelimit.sql import SqlEngine, SqlRateLimiter

__all__ = [
    "Decision",
    "Limit",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
    "SqlRateLimiter",
    "build_rate_limiter",
]


def build_rate_limiter(redis_url: str | None, engine_factory: Callable[[], SqlEngine] | None) -> RateLimiter:
    """Redis when ``redis_url`` is set (non-empty), else SQL when ``engine_factory`` is given (called
    lazily, on the first hit), else in-process memory."""
    if redis_url:
        return RedisRateLimiter(redis_url)
    if engine_factory is not None:
        from app.ratelimit.sql import SqlRateLimiter

        return SqlRateLimiter(engine_factory)
    return MemoryRateLimiter()


def __getattr__(name: str) -> Any:
    if name == "SqlRateLimiter":
        from app.ratelimit.sql import SqlRateLimiter

        return SqlRateLimiter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
