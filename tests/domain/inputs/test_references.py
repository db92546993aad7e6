"""Which market a member means: typed numbers and autocomplete labels."""

from __future__ import annotations

import pytest

from app.domain.inputs.references import parse_market_reference


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        ("#12", 12),
        (" # 12 ", 12),
        ("##12", 12),
        ("0", 0),
        ("007", 7),
        (12, 12),
        ("999999999", 999_999_999),
        ("#12 · Will it rain?", 12),
        ("12 · Will it rain?", 12),
        (" # 12 ·Will it rain?", 12),
        ("#12·Will it rain? · Tomorrow", 12),
        ("#999999999 · Long", 999_999_999),
    ],
)
def test_parse_market_reference_reads(value: object, expected: int) -> None:
    assert parse_market_reference(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "#",
        " # ",
        "#  · Will it rain?",
        "rain",
        "Will it rain?",
        "twelve",
        "-12",
        "#-12",
        -12,
        "+12",
        "12.5",
        "1e3",
        "1_000",
        "12 13",
        "1234567890",
        "#1234567890",
        "#1234567890 · Will it rain?",
        "9" * 5000,
        "１２",
        "²",
        "Will it rain? · #12",
        True,
    ],
)
def test_parse_market_reference_finds_none(value: object) -> None:
    assert parse_market_reference(value) is None
