"""Amounts of points and numbers of shares: tables of accepted and refused inputs plus a few properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import HunchError, ValidationError
from app.domain.inputs.amounts import parse_amount, parse_shares


def test_validation_error_is_a_hunch_error() -> None:
    with pytest.raises(HunchError) as info:
        parse_amount("abc")
    assert info.value.code == "invalid"
    assert info.value.message == str(info.value)


# --- parse_amount ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("250", 250),
        ("1000", 1000),
        ("1,000", 1000),
        ("12,345,678", 12_345_678),
        ("999,999", 999_999),
        ("007", 7),
        ("1k", 1000),
        ("1K", 1000),
        ("2.5k", 2500),
        ("2.5K", 2500),
        ("0.5k", 500),
        ("1.234k", 1234),
        ("1m", 1_000_000),
        ("1M", 1_000_000),
        ("1.5m", 1_500_000),
        ("2.000001m", 2_000_001),
        ("1,000k", 1_000_000),
        ("1000000m", 10**12),
        ("1,000,000,000,000", 10**12),
        ("  42  ", 42),
        ("\t42\n", 42),
    ],
)
def test_parse_amount_accepts(text: str, expected: int) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        ("abc", "isn't an amount"),
        ("-5", "more than zero"),
        ("-1,000", "more than zero"),
        ("0", "more than zero"),
        ("000", "more than zero"),
        ("0k", "more than zero"),
        ("0.0001k", "fraction of a point"),
        ("12.5", "whole points"),
        ("12.0", "whole points"),
        ("1.000", "whole points"),
        ("2.5005k", "fraction of a point"),
        ("1e9", "isn't an amount"),
        ("1E3", "isn't an amount"),
        ("0x10", "isn't an amount"),
        ("1_000", "isn't an amount"),
        ("1 000", "isn't an amount"),
        ("1,00", "isn't an amount"),
        ("1,0000", "isn't an amount"),
        ("1000,000", "isn't an amount"),
        (",100", "isn't an amount"),
        ("100,", "isn't an amount"),
        ("1,,000", "isn't an amount"),
        ("+5", "isn't an amount"),
        ("5 points", "isn't an amount"),
        ("1kk", "isn't an amount"),
        ("k", "isn't an amount"),
        ("1b", "isn't an amount"),
        (".5k", "isn't an amount"),
        ("5.k", "isn't an amount"),
        ("NaN", "isn't an amount"),
        ("inf", "isn't an amount"),
        ("１２", "isn't an amount"),  # fullwidth digits
        ("١٢", "isn't an amount"),  # Arabic-Indic digits
        ("१२", "isn't an amount"),  # Devanagari digits
        ("12\u200b", "isn't an amount"),  # zero-width space
        ("1" * 21, "far too long"),
        ("9" * 30, "far too long"),
        ("1" * 10_000, "far too long"),
        ("1000000000001", "too large"),
        ("1,000,000,000,001", "too large"),
        ("1000001m", "too large"),
        ("99999999999999999999", "too large"),
        ("all", "can't use 'all'"),
    ],
)
def test_parse_amount_refuses(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_amount(text)


def test_parse_amount_length_is_checked_before_parsing() -> None:
    # 21 characters that would otherwise be a fine amount.
    with pytest.raises(ValidationError, match="far too long"):
        parse_amount("1,000,000,000,000,000")  # 21 characters; parsed it would be "too large"
    with pytest.raises(ValidationError, match="far too long"):
        parse_amount("000000000000000000001")


def test_parse_amount_more_than_balance() -> None:
    assert parse_amount("1,250", balance=1250) == 1250
    with pytest.raises(ValidationError) as info:
        parse_amount("1251", balance=1250)
    assert info.value.message == "That's more than your balance (1,250)."
    with pytest.raises(ValidationError, match=r"balance \(0\)"):
        parse_amount("1", balance=0)


def test_parse_amount_more_than_maximum() -> None:
    assert parse_amount("10k", maximum=10_000) == 10_000
    with pytest.raises(ValidationError) as info:
        parse_amount("10,001", maximum=10_000)
    assert info.value.message == "The most you can stake at once is 10,000."


def test_parse_amount_balance_is_checked_before_maximum() -> None:
    with pytest.raises(ValidationError, match="balance"):
        parse_amount("50k", balance=20_000, maximum=10_000)


@pytest.mark.parametrize("text", ["all", "ALL", " All "])
@pytest.mark.parametrize(
    ("balance", "maximum", "expected"),
    [(1250, None, 1250), (1250, 10_000, 1250), (50_000, 10_000, 10_000), (1, 1, 1)],
)
def test_parse_amount_all(text: str, balance: int, maximum: int | None, expected: int) -> None:
    assert parse_amount(text, balance=balance, maximum=maximum) == expected


def test_parse_amount_all_needs_a_balance() -> None:
    with pytest.raises(ValidationError, match="can't use 'all'"):
        parse_amount("all", maximum=100)
    with pytest.raises(ValidationError, match="don't have any points"):
        parse_amount("all", balance=0)
    with pytest.raises(ValidationError, match="don't have any points"):
        parse_amount("all", balance=-5)


@given(st.integers(min_value=1, max_value=10**12))
def test_parse_amount_round_trips_grouped_numbers(n: int) -> None:
    assert parse_amount(f"{n:,}") == n
    assert parse_amount(str(n)) == n


@given(st.integers(min_value=1, max_value=10**9))
def test_parse_amount_k_suffix(n: int) -> None:
    assert parse_amount(f"{n}k") == n * 1000


@given(st.text(max_size=30))
def test_parse_amount_never_crashes(text: str) -> None:
    try:
        amount = parse_amount(text, balance=10**6)
    except ValidationError:
        return
    assert 1 <= amount <= 10**6


# --- parse_shares ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Decimal(1)),
        ("12", Decimal(12)),
        ("0.5", Decimal("0.5")),
        (".5", Decimal("0.5")),
        ("2.500000", Decimal("2.5")),
        ("0.000001", Decimal("0.000001")),
        ("123.456789", Decimal("123.456789")),
        ("1,024.25", Decimal("1024.25")),
        ("1,000,000", Decimal(1_000_000)),
        ("  3.25 ", Decimal("3.25")),
        ("1000000000000", Decimal(10**12)),
    ],
)
def test_parse_shares_accepts(text: str, expected: Decimal) -> None:
    result = parse_shares(text)
    assert isinstance(result, Decimal)
    assert result == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter a number of shares"),
        ("all", "isn't a number of shares"),
        ("abc", "isn't a number of shares"),
        ("-1", "more than zero"),
        ("-0.5", "more than zero"),
        ("0", "more than zero"),
        ("0.000000", "more than zero"),
        ("0.0000001", "at most 6 decimal places"),
        ("1.1234567", "at most 6 decimal places"),
        ("1e3", "isn't a number of shares"),
        ("1E-3", "isn't a number of shares"),
        ("NaN", "isn't a number of shares"),
        ("nan", "isn't a number of shares"),
        ("inf", "isn't a number of shares"),
        ("Infinity", "isn't a number of shares"),
        ("+1", "isn't a number of shares"),
        ("1_000", "isn't a number of shares"),
        ("1,00", "isn't a number of shares"),
        (".", "isn't a number of shares"),
        ("5.", "isn't a number of shares"),
        ("1.2.3", "isn't a number of shares"),
        ("0x10", "isn't a number of shares"),
        ("１２", "isn't a number of shares"),
        ("١٢", "isn't a number of shares"),
        ("1k", "isn't a number of shares"),
        ("1" * 21, "far too long"),
        ("1000000000000.000001", "too many shares"),
    ],
)
def test_parse_shares_refuses(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_shares(text)


@given(st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**9), places=6))
def test_parse_shares_round_trips(d: Decimal) -> None:
    assert parse_shares(f"{d:f}") == d
    assert parse_shares(f"{d:,f}") == d
