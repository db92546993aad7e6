"""The rate-limiter contract shared by every backend, and the millisecond clock they all use.

Semantics (identical in every backend): a key's window at instant ``now`` is the half-open interval
``(now - window, now]``. A hit at ``t`` therefore stops counting at exactly ``t + window``, which is
the ``retry_at`` a refused caller is given: retrying at ``retry_at`` succeeds (unless someone else
took the slot first). Times are whole milliseconds since the Unix epoch (sub-millisecond parts are
truncated), so all backends agree to the millisecond.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How long a shared store may take to answer a batch of checks: every check a process is asked for meanwhile
# waits on it, and past this the throttle lets them through (an outage of the limiter must not stop trading).
CHECK_TIMEOUT_SECONDS = 2.0
_ONE_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Limit:
    """At most ``hits`` events per key in any sliding window of ``window_seconds``."""

    hits: int
    window_seconds: float

    def __post_init__(self) -> None:
        if isinstance(self.hits, bool) or not isinstance(self.hits, int) or self.hits < 1:
            raise ValueError(f"Limit.hits must be a positive int, got {self.hits!r}")
        if not (isinstance(self.window_seconds, (int, float)) and math.isfinite(self.window_seconds)):
            raise ValueError(f"Limit.window_seconds must be a finite number, got {self.window_seconds!r}")
        if self.window_seconds <= 0:
            raise ValueError(f"Limit.window_seconds must be > 0, got {self.window_seconds!r}")

    @property
    def window_ms(self) -> int:
        """The window in whole milliseconds (at least 1), as every backend stores it."""
        return max(1, round(self.window_seconds * 1000))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # tz-aware UTC; when enough hits leave the window for one more to fit (None when allowed).
    retry_at: datetime | None = None


@runtime_checkable
class RateLimiter(Protocol):
    async def hit(self, key: str, limit: Limit, *, now: datetime | None = None) -> Decision:
        """Atomically: forget hits that left the window; if fewer than ``limit.hits`` remain, record
        this hit and allow it; otherwise refuse it and record nothing."""
        ...

    async def hit_all(self, checks: Sequence[tuple[str, Limit]], *, now: datetime | None = None) -> Decision:
        """``hit`` on several keys at once, atomically: the hit is recorded on every key if each has
        room, else on none, and the refusal's ``retry_at`` is when every refusing key has room again."""
        ...

    async def reset(self, key: str) -> None:
        """Forget every hit recorded for ``key``."""
        ...


def to_ms(moment: datetime) -> int:
    """Exact whole milliseconds since the epoch (no float rounding). Naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("rate limiter times must be timezone-aware (use datetime.now(timezone.utc))")
    return (moment - _EPOCH) // _ONE_MS


def now_ms(now: datetime | None) -> int:
    return to_ms(now) if now is not None else time.time_ns() // 1_000_000


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def refused(blocking_hit_ms: int, limit: Limit) -> Decision:
    """The refusal for a full window whose blocking hit (the oldest one that must expire) is given."""
    return Decision(allowed=False, retry_at=from_ms(blocking_hit_ms + limit.window_ms))


ALLOWED = Decision(allowed=True, retry_at=None)


def latest(refusals: Sequence[Decision]) -> Decision:
    """The refusal that lasts longest (every refusing key has room again at its ``retry_at``)."""
    return max(refusals, key=lambda d: d.retry_at or _EPOCH)
