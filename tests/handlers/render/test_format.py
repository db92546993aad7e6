"""How numbers appear to members: the exact strings are a public contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.render.format import (
    bar,
    percent,
    points,
    shares,
    signed_points,
    timestamp,
    truncate,
)

# --- points ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "currency", "expected"),
    [
        (0, "points", "0 points"),
        (1, "points", "1 points"),
        (-1, "points", "-1 points"),
        (2, "points", "2 points"),
        (1250, "points", "1,250 points"),
        (-40, "points", "-40 points"),
        (-1250, "points", "-1,250 points"),
        (10**12, "points", "1,000,000,000,000 points"),
        (1, "coins", "1 coins"),
        (1250, "coins", "1,250 coins"),
        (1, "Gold", "1 Gold"),
        (5, "🪙", "5 🪙"),
    ],
)
def test_points(n: int, currency: str, expected: str) -> None:
    assert points(n, currency) == expected


def test_points_default_currency() -> None:
    assert points(1250) == "1,250 points"
    assert points(1) == "1 points"


@pytest.mark.parametrize(
    ("n", "currency", "expected"),
    [
        (120, "points", "+120 points"),
        (1, "points", "+1 points"),
        (-40, "points", "-40 points"),
        (-1, "points", "-1 points"),
        (0, "points", "0 points"),
        (1250, "coins", "+1,250 coins"),
        (-1250, "coins", "-1,250 coins"),
    ],
)
def test_signed_points(n: int, currency: str, expected: str) -> None:
    assert signed_points(n, currency) == expected


def test_signed_points_default_currency() -> None:
    assert signed_points(120) == "+120 points"


# --- shares ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        (Decimal("142.35"), "142.35 shares"),
        (Decimal("142.359999"), "142.35 shares"),
        (Decimal("142.351"), "142.35 shares"),
        (Decimal(1024), "1,024.00 shares"),
        (Decimal("1024.999999"), "1,024.99 shares"),
        (Decimal("0.009999"), "0.00 shares"),
        (Decimal(0), "0.00 shares"),
        (Decimal("0.000001"), "0.00 shares"),
        (Decimal(1), "1.00 shares"),
        (Decimal("1234567.891"), "1,234,567.89 shares"),
        (Decimal("1E+3"), "1,000.00 shares"),
        (Decimal("-0.001"), "0.00 shares"),
        (Decimal("-1.999"), "-1.99 shares"),
        (Decimal(10**30), "1,000,000,000,000,000,000,000,000,000,000.00 shares"),
    ],
)
def test_shares(d: Decimal, expected: str) -> None:
    assert shares(d) == expected


@pytest.mark.parametrize("d", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_shares_refuses_non_finite(d: Decimal) -> None:
    with pytest.raises(ValueError):
        shares(d)


@given(st.decimals(min_value=0, max_value=10**12, places=6))
def test_shares_never_shows_more_than_held(d: Decimal) -> None:
    text = shares(d)
    assert text.endswith(" shares")
    shown = Decimal(text.removesuffix(" shares").replace(",", ""))
    assert shown <= d < shown + Decimal("0.01")


# --- percent ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (Decimal("0.632"), "63.2%"),
        (Decimal("0.5"), "50.0%"),
        (Decimal("0.25"), "25.0%"),
        (Decimal("0.0125"), "1.2%"),  # half-even
        (Decimal("0.0135"), "1.4%"),  # half-even
        (Decimal("0.12345"), "12.3%"),
        (Decimal("0.001"), "0.1%"),
        (Decimal("0.999"), "99.9%"),
        (Decimal(0), "0.0%"),
        (Decimal("0.000"), "0.0%"),
        (Decimal(1), "100.0%"),
        (Decimal("1.000"), "100.0%"),
        (Decimal("0.0001"), "<0.1%"),
        (Decimal("0.0004999"), "<0.1%"),
        (Decimal("0.0005"), "<0.1%"),
        (Decimal("0.00051"), "0.1%"),
        (Decimal("1E-20"), "<0.1%"),
        (Decimal("0.9995"), ">99.9%"),
        (Decimal("0.99999"), ">99.9%"),
        (Decimal("0.9994"), "99.9%"),
    ],
)
def test_percent(p: Decimal, expected: str) -> None:
    assert percent(p) == expected


@pytest.mark.parametrize("p", [Decimal("-0.01"), Decimal("1.01"), Decimal("NaN"), Decimal("Infinity")])
def test_percent_refuses_out_of_range(p: Decimal) -> None:
    with pytest.raises(ValueError):
        percent(p)


@given(st.decimals(min_value=0, max_value=1, places=8))
def test_percent_only_extremes_show_extremes(p: Decimal) -> None:
    text = percent(p)
    assert text.endswith("%")
    if text == "0.0%":
        assert p == 0
    if text == "100.0%":
        assert p == 1
    if 0 < p < 1:
        assert text not in {"0.0%", "100.0%"}


# --- bar -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "width", "expected"),
    [
        (Decimal(0), 12, "░░░░░░░░░░░░"),
        (Decimal(1), 12, "████████████"),
        (Decimal("0.5"), 12, "██████░░░░░░"),
        (Decimal("0.42"), 12, "█████░░░░░░░"),
        (Decimal("0.25"), 4, "█░░░"),
        (Decimal("0.125"), 4, "█░░░"),  # half rounds up
        (Decimal("0.1"), 10, "█░░░░░░░░░"),
        (Decimal("0.01"), 12, "░░░░░░░░░░░░"),
        (Decimal("0.5"), 1, "█"),
    ],
)
def test_bar(p: Decimal, width: int, expected: str) -> None:
    assert bar(p, width) == expected


def test_bar_default_width() -> None:
    assert bar(Decimal("0.632")) == "████████░░░░"


@given(st.decimals(min_value=0, max_value=1, places=6), st.integers(min_value=1, max_value=50))
def test_bar_has_width_cells_and_is_proportional(p: Decimal, width: int) -> None:
    text = bar(p, width)
    assert len(text) == width
    filled = text.count("█")
    assert text == "█" * filled + "░" * (width - filled)
    assert abs(filled - p * width) <= Decimal("0.5")


@pytest.mark.parametrize(("p", "width"), [(Decimal("0.5"), 0), (Decimal("-0.1"), 12), (Decimal("1.1"), 12)])
def test_bar_refuses(p: Decimal, width: int) -> None:
    with pytest.raises(ValueError):
        bar(p, width)


# --- timestamp -------------------------------------------------------------------------------------------------------

MOMENT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000


def test_timestamp_default_style_is_relative() -> None:
    assert timestamp(MOMENT) == "<t:1700000000:R>"


@pytest.mark.parametrize("style", list("tTdDfFR"))
def test_timestamp_styles(style: str) -> None:
    assert timestamp(MOMENT, style) == f"<t:1700000000:{style}>"


def test_timestamp_naive_is_utc() -> None:
    assert timestamp(MOMENT.replace(tzinfo=None)) == "<t:1700000000:R>"


def test_timestamp_other_zones() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert timestamp(MOMENT.astimezone(plus_two), "f") == "<t:1700000000:f>"


def test_timestamp_floors_fractions() -> None:
    assert timestamp(MOMENT + timedelta(microseconds=999_999)) == "<t:1700000000:R>"
    assert timestamp(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC)) == "<t:-1:R>"


@pytest.mark.parametrize("style", ["", "x", "RR", "r "])
def test_timestamp_refuses_unknown_style(style: str) -> None:
    with pytest.raises(ValueError):
        timestamp(MOMENT, style)


# --- truncate --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven ch…"),
        ("hello world", 7, "hello…"),
        ("abc", 1, "…"),
        ("abc", 0, ""),
        ("", 0, ""),
        ("日本語のテキスト", 4, "日本語…"),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


def test_truncate_refuses_negative_limit() -> None:
    with pytest.raises(ValueError):
        truncate("abc", -1)


@given(st.text(max_size=200), st.integers(min_value=0, max_value=100))
def test_truncate_fits(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    elif limit > 0:
        assert result.endswith("…")
        assert text.startswith(result[:-1])
