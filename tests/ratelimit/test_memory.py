"""`MemoryRateLimiter` keeps the contract (within one process: every "instance" here is the one limiter)."""

from __future__ import annotations

from tests.ratelimit.conftest import only
from tests.ratelimit.test_base import RateLimiterContract


@only("memory")
class TestMemoryRateLimiter(RateLimiterContract):
    pass
