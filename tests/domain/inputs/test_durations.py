"""Durations: tables of accepted and refused inputs plus a round trip."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.inputs.durations import parse_duration, parse_duration_or_off

# --- parse_duration --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1m", timedelta(minutes=1)),
        ("90m", timedelta(minutes=90)),
        ("2h", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m", timedelta(weeks=1, days=2, hours=3, minutes=4)),
        ("30m1h", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1 h 30 m", timedelta(hours=1, minutes=30)),
        ("  2H ", timedelta(hours=2)),
        ("3D", timedelta(days=3)),
        ("1W", timedelta(weeks=1)),
        ("0h1m", timedelta(minutes=1)),
        ("365d", timedelta(days=365)),
        ("52w1d", timedelta(days=365)),
        ("525600m", timedelta(days=365)),
        ("8760h", timedelta(days=365)),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Use a duration like 90m, 2h, 3d or 1w."),
        ("90", "Use a duration like"),
        ("45s", "Use a duration like"),
        ("2 hours", "Use a duration like"),
        ("1y", "Use a duration like"),
        ("h", "Use a duration like"),
        ("1.5h", "Use a duration like"),
        ("-1h", "Use a duration like"),
        ("1h30", "Use a duration like"),
        ("1h,30m", "Use a duration like"),
        ("１h", "Use a duration like"),
        ("1e3m", "Use a duration like"),
        ("1h1h", "each unit only once"),
        ("1m 2m", "each unit only once"),
        ("0m", "at least 1 minute"),
        ("0d", "at least 1 minute"),
        ("366d", "at most 365 days"),
        ("53w", "at most 365 days"),
        ("365d1m", "at most 365 days"),
        ("8761h", "at most 365 days"),
        ("99999999999999999999w", "at most 365 days"),
        ("9" * 50 + "m", "Use a duration like"),
    ],
)
def test_parse_duration_refuses(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=365 * 24 * 60))
def test_parse_duration_minutes_round_trip(minutes: int) -> None:
    assert parse_duration(f"{minutes}m") == timedelta(minutes=minutes)


@pytest.mark.parametrize(("text", "seconds"), [("off", 0), (" Never ", 0), ("0", 0), ("10m", 600), ("2w", 1209600)])
def test_a_setting_takes_a_duration_or_off(text: str, seconds: int) -> None:
    assert parse_duration_or_off(text) == seconds


def test_a_setting_refuses_what_is_neither() -> None:
    with pytest.raises(ValidationError, match="duration like"):
        parse_duration_or_off("soon")
