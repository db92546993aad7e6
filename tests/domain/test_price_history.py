from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.price_history import (
    MAX_POINTS,
    RESOLUTIONS,
    ChartPeriod,
    PricePoint,
    bucket_of,
    buckets,
    chart_window,
    resolution_for,
    uniform,
)

T = datetime(2026, 12, 6, 14, 37, 29, tzinfo=UTC)


def test_buckets_start_on_whole_multiples_of_their_resolution() -> None:
    assert bucket_of(T, 60) == datetime(2026, 12, 6, 14, 37, tzinfo=UTC)
    assert bucket_of(T, 300) == datetime(2026, 12, 6, 14, 35, tzinfo=UTC)
    assert bucket_of(T, 1800) == datetime(2026, 12, 6, 14, 30, tzinfo=UTC)
    assert bucket_of(T, 3600) == datetime(2026, 12, 6, 14, tzinfo=UTC)
    assert bucket_of(T, 6 * 3600) == datetime(2026, 12, 6, 12, tzinfo=UTC)
    assert bucket_of(T, 86400) == datetime(2026, 12, 6, tzinfo=UTC)
    assert bucket_of(datetime(2026, 12, 6, 14, 0, tzinfo=UTC), 3600) == datetime(2026, 12, 6, 14, tzinfo=UTC)


def test_a_point_goes_into_one_bucket_of_every_resolution() -> None:
    point = PricePoint(T, (0.6, 0.4))
    kept = buckets(point, 7)
    assert [b.resolution for b in kept] == list(RESOLUTIONS)
    assert all(b.point == point and b.sequence == 7 and b.bucket <= T for b in kept)


@pytest.mark.parametrize(
    ("span", "resolution"),
    [
        (timedelta(minutes=30), 60),
        (timedelta(hours=12), 60),
        (timedelta(hours=12, minutes=1), 300),
        (timedelta(days=1), 300),
        (timedelta(days=7), 1800),
        (timedelta(days=30), 3600),
        (timedelta(days=180), 6 * 3600),
        (timedelta(days=365), 86400),
        (timedelta(days=5000), 86400),  # longer than any resolution covers: the coarsest
    ],
)
def test_a_span_is_read_at_the_finest_resolution_that_covers_it_in_bounded_buckets(
    span: timedelta, resolution: int
) -> None:
    assert resolution_for(span) == resolution
    if span <= timedelta(seconds=MAX_POINTS * RESOLUTIONS[-1]):
        assert span.total_seconds() / resolution <= MAX_POINTS


def test_a_window_runs_back_over_the_period_but_not_before_the_market() -> None:
    created = T - timedelta(days=3)
    assert chart_window(ChartPeriod.DAY, created, T, None) == (T - timedelta(days=1), T)
    assert chart_window(ChartPeriod.WEEK, created, T, None) == (created, T)
    assert chart_window(ChartPeriod.ALL, created, T, None) == (created, T)


def test_a_settled_market_is_charted_up_to_its_settlement() -> None:
    created, settled = T - timedelta(days=10), T - timedelta(days=2)
    assert chart_window(ChartPeriod.DAY, created, T, settled) == (settled - timedelta(days=1), settled)
    assert chart_window(ChartPeriod.ALL, created, T, settled) == (created, settled)


def test_period_spans() -> None:
    assert ChartPeriod("1d").span == timedelta(days=1)
    assert ChartPeriod("1w").span == timedelta(days=7)
    assert ChartPeriod("1m").span == timedelta(days=30)
    assert ChartPeriod("all").span is None


def test_a_new_market_is_uniform() -> None:
    assert uniform(4) == (0.25, 0.25, 0.25, 0.25)
