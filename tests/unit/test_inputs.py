"""Parsing what members type: tables of accepted and refused inputs plus a few properties."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.inputs import (
    DESCRIPTION_MAX,
    OUTCOME_MAX,
    QUESTION_MAX,
    clean_description,
    clean_text,
    parse_amount,
    parse_duration,
    parse_outcomes,
    parse_shares,
    parse_weights,
)
from app.errors import HunchError, ValidationError


def test_constants() -> None:
    assert (QUESTION_MAX, OUTCOME_MAX, DESCRIPTION_MAX) == (200, 50, 1000)


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


# --- clean_text ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Will it rain?", "Will it rain?"),
        ("  padded  ", "padded"),
        ("many   spaces\tand\ttabs", "many spaces and tabs"),
        ("line\nbreaks\r\nhere", "line breaks here"),
        ("zero\u200bwidth", "zerowidth"),
        ("joiners\u200c\u200d\u2060\ufeff", "joiners"),
        ("bidi \u202eoverride\u202c", "bidi override"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("a\u00a0b\u3000c", "a b c"),
        ("a \u200b b", "a b"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("hangul\u3164filler", "hangulfiller"),
        ("café ☕ 日本", "café ☕ 日本"),
    ],
)
def test_clean_text_cleans(text: str, expected: str) -> None:
    assert clean_text(text, max_length=100, field="question") == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\u200b\u200b", "\x00\x01", "\u3164"])
def test_clean_text_refuses_empty(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        clean_text(text, max_length=100, field="question")
    assert info.value.message == "The question can't be empty."


def test_clean_text_length_is_measured_after_cleaning() -> None:
    assert clean_text("  " + "a" * 10 + "\u200b" * 50 + "  ", max_length=10, field="question") == "a" * 10
    with pytest.raises(ValidationError) as info:
        clean_text("a" * 11, max_length=10, field="question")
    assert info.value.message == "The question can be at most 10 characters."


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_clean_text_output_is_clean(text: str, max_length: int) -> None:
    try:
        cleaned = clean_text(text, max_length=max_length, field="question")
    except ValidationError:
        return
    assert 0 < len(cleaned) <= max_length
    assert "  " not in cleaned
    assert cleaned == cleaned.strip()
    assert all(unicodedata.category(c) not in {"Cc", "Cf", "Cs"} for c in cleaned)
    assert all(c == " " or not c.isspace() for c in cleaned)
    assert clean_text(cleaned, max_length=max_length, field="question") == cleaned  # idempotent


# --- clean_description -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("   \n\n \t ", ""),
        ("\u200b", ""),
        ("One line.", "One line."),
        ("  first\nsecond  ", "first\nsecond"),
        ("first\r\nsecond\rthird", "first\nsecond\nthird"),
        ("para one\n\npara two", "para one\n\npara two"),
        ("para one\n\n\n\n\npara two", "para one\n\npara two"),
        ("para one\n   \n\t\n\u200b\npara two", "para one\n\npara two"),
        ("\n\n\nleading and trailing\n\n\n", "leading and trailing"),
        ("spaces   in\t\tline", "spaces in line"),
        ("ctrl\x07\x1b[31m chars\u202e", "ctrl[31m chars"),
        ("line\u2028sep", "line\nsep"),
    ],
)
def test_clean_description(text: str, expected: str) -> None:
    assert clean_description(text) == expected


def test_clean_description_length() -> None:
    assert len(clean_description("a" * DESCRIPTION_MAX)) == DESCRIPTION_MAX
    with pytest.raises(ValidationError) as info:
        clean_description("a" * (DESCRIPTION_MAX + 1))
    assert info.value.message == "The description can be at most 1000 characters."
    with pytest.raises(ValidationError, match="at most 4 characters"):
        clean_description("ab\ncd", max_length=4)  # the newline counts
    assert clean_description("ab\ncd", max_length=5) == "ab\ncd"


@given(st.text(max_size=300))
def test_clean_description_output_is_clean(text: str) -> None:
    cleaned = clean_description(text, max_length=10_000)
    assert "\n\n\n" not in cleaned
    assert cleaned == cleaned.strip()
    assert all(c == "\n" or unicodedata.category(c) not in {"Cc", "Cf", "Cs"} for c in cleaned)
    for line in cleaned.split("\n"):
        assert "  " not in line
        assert line == line.strip()
    assert clean_description(cleaned, max_length=10_000) == cleaned


# --- parse_outcomes --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ["Yes", "No"]),
        ("", ["Yes", "No"]),
        ("   ", ["Yes", "No"]),
        ("\u200b", ["Yes", "No"]),
        ("Red, Blue", ["Red", "Blue"]),
        ("Red,Blue,Green", ["Red", "Blue", "Green"]),
        ("  Not   sure ,  Yes\n", ["Not sure", "Yes"]),
        ("A,B,C,D,E,F,G,H,I,J", list("ABCDEFGHIJ")),
        ("Option 1, Option 2", ["Option 1", "Option 2"]),
        ("x" * 50 + ", y", ["x" * 50, "y"]),
    ],
)
def test_parse_outcomes_accepts(text: str | None, expected: list[str]) -> None:
    assert parse_outcomes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Yes", "at least 2 outcomes"),
        ("A,B,C,D,E,F,G,H,I,J,K", "at most 10 outcomes"),
        ("Red,,Blue", "empty"),
        ("Red, ,Blue", "empty"),
        ("Red, Blue,", "empty"),
        (",Red, Blue", "empty"),
        ("Red, \u200b, Blue", "empty"),
        ("Red, red", "“red” is listed more than once"),
        ("Red, Blue, RED", "“RED” is listed more than once"),
        ("Straße, STRASSE", "“STRASSE” is listed more than once"),
        ("Yes, Ｙｅｓ", "listed more than once"),
        ("Not sure, not  sure", "“not sure” is listed more than once"),
        ("x" * 51 + ", y", "The outcome can be at most 50 characters."),
    ],
)
def test_parse_outcomes_refuses(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_outcomes(text)


# --- parse_weights ---------------------------------------------------------------------------------------------------

COLOURS = ["Red", "Blue", "Not sure"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Red 70, Blue 30", [70, 30, 0]),
        ("Red: 70%, Blue: 30%", [70, 30, 0]),
        ("Red:70,Blue:30", [70, 30, 0]),
        ("Red 70 %, Blue 30%", [70, 30, 0]),
        ("red 70, BLUE 30", [70, 30, 0]),
        ("Blue 30, Red 70", [70, 30, 0]),
        ("Not sure 20, Red 80", [80, 0, 20]),
        ("not  SURE: 20%, Red 80", [80, 0, 20]),
        ("Red 100", [100, 0, 0]),
        ("Red 100, Blue 0", [100, 0, 0]),
        ("Red 34, Blue 33, Not sure 33", [34, 33, 33]),
    ],
)
def test_parse_weights_accepts(text: str, expected: list[int]) -> None:
    assert parse_weights(text, COLOURS) == expected


def test_parse_weights_outcome_names_with_numbers_and_colons() -> None:
    assert parse_weights("Option 2 30, Option 1 70", ["Option 1", "Option 2"]) == [70, 30]
    assert parse_weights("Ratio 3:1: 40%, Even 60", ["Ratio 3:1", "Even"]) == [40, 60]
    assert parse_weights("Ratio 3:1:40, Even 60", ["Ratio 3:1", "Even"]) == [40, 60]
    assert parse_weights("50 50, 30 50", ["50", "30"]) == [50, 50]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the weights"),
        ("Red 70, Blue 20", "add up to 90%"),
        ("Red 70, Blue 40", "add up to 110%"),
        ("Red 0", "add up to 0%"),
        ("Purple 70, Blue 30", "no outcome called “Purple”"),
        ("Re 70, Blue 30", "no outcome called “Re”"),
        ("Red 70, red 30", "“Red” has more than one weight"),
        ("Red 70, Blue 30,", "empty"),
        ("Red 70,, Blue 30", "empty"),
        ("Red, Blue", "needs an outcome and a number"),
        ("70, 30", "needs an outcome and a number"),
        ("Red70, Blue30", "needs an outcome and a number"),
        ("Red 70.5, Blue 29.5", "weight for “Red” must be a whole number from 0 to 100"),
        ("Red -10, Blue 110", "weight for “Red” must be a whole number"),
        ("Red 101", "weight for “Red” must be a whole number"),
        ("Red 1e2", "weight for “Red” must be a whole number"),
        ("Red ７０, Blue 30", "weight for “Red” must be a whole number"),
        ("Red seventy, Blue 30", "weight for “Red” must be a whole number"),
        ("Red 0100", "weight for “Red” must be a whole number"),
    ],
)
def test_parse_weights_refuses(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_weights(text, COLOURS)


def test_parse_weights_names_long_unknown_outcomes_briefly() -> None:
    with pytest.raises(ValidationError) as info:
        parse_weights("x" * 500 + " 100", COLOURS)
    assert len(info.value.message) < 100


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=10))
def test_parse_weights_round_trips(raw: list[int]) -> None:
    outcomes = [f"Outcome {i}" for i in range(len(raw))]
    text = ", ".join(f"{name}: {w}%" for name, w in zip(outcomes, raw, strict=True))
    if sum(raw) == 100:
        assert parse_weights(text, outcomes) == raw
    else:
        with pytest.raises(ValidationError, match="exactly 100%"):
            parse_weights(text, outcomes)
