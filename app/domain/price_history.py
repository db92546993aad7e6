"""A market's prices over time, kept at a few resolutions so that a chart of any period reads a bounded
number of points, however many trades the market had.

Each resolution keeps one point per time bucket in which someone traded: the probabilities after the bucket's
last trade, and when that trade was. A chart of a span uses the finest resolution that covers the span in
at most `MAX_POINTS` buckets, so a market with 100,000 trades and one with 100 both cost at most
`MAX_POINTS` + 1 rows to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

RESOLUTIONS = (60, 300, 1800, 3600, 6 * 3600, 86400)
"""Bucket sizes in seconds: 1 minute, 5 minutes, 30 minutes, 1 hour, 6 hours, 1 day."""

MAX_POINTS = 720
"""The most buckets a chart reads: about one per pixel of its width."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ChartPeriod(StrEnum):
    """What `/market chart period:` offers: the last day, week or 30 days, or the market's whole life."""

    DAY = "1d"
    WEEK = "1w"
    MONTH = "1m"
    ALL = "all"

    @property
    def span(self) -> timedelta | None:
        return _SPANS.get(self)


_SPANS = {
    ChartPeriod.DAY: timedelta(days=1),
    ChartPeriod.WEEK: timedelta(days=7),
    ChartPeriod.MONTH: timedelta(days=30),
}
DEFAULT_PERIOD = ChartPeriod.ALL


@dataclass(frozen=True, slots=True)
class PricePoint:
    """The probabilities after a trade (or after a bucket's last trade), and when it happened."""

    at: datetime
    probabilities: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BucketPoint:
    """A point as one resolution keeps it: `sequence` is the trade's event's place in the market's stream, so
    a point written again (a redelivered event) never replaces a later one."""

    resolution: int
    bucket: datetime
    sequence: int
    point: PricePoint


def bucket_of(at: datetime, resolution: int) -> datetime:
    """The start of the bucket of `resolution` seconds that `at` falls in (buckets are aligned on the epoch)."""
    seconds = int((at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % resolution)


def buckets(point: PricePoint, sequence: int) -> list[BucketPoint]:
    """The point as each resolution keeps it."""
    return [BucketPoint(r, bucket_of(point.at, r), sequence, point) for r in RESOLUTIONS]


def resolution_for(span: timedelta) -> int:
    """The finest resolution that covers `span` in at most `MAX_POINTS` buckets (the coarsest when none does:
    the chart then shows the most recent `MAX_POINTS` days)."""
    seconds = span.total_seconds()
    for resolution in RESOLUTIONS:
        if seconds / resolution <= MAX_POINTS:
            return resolution
    return RESOLUTIONS[-1]


def chart_window(
    period: ChartPeriod, created_at: datetime, now: datetime, ended_at: datetime | None
) -> tuple[datetime, datetime]:
    """From when to when a chart of `period` runs: up to the market's end (settled) or now, and back over
    the period's span but never before the market was created."""
    end = min(ended_at, now) if ended_at is not None else now
    end = max(end, created_at)
    span = period.span
    start = created_at if span is None else max(created_at, end - span)
    return start, end


def uniform(outcomes: int) -> tuple[float, ...]:
    """A new market's probabilities: the LMSR starts with no shares, every outcome equally likely."""
    return tuple(1 / outcomes for _ in range(outcomes))
