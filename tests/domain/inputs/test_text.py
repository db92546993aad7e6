"""Free text: what cleaning keeps, drops and refuses, plus properties of the cleaned text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.inputs.text import clean_description, clean_text
from app.domain.limits import DESCRIPTION_MAX, OUTCOME_MAX, QUESTION_MAX


def test_constants() -> None:
    assert (QUESTION_MAX, OUTCOME_MAX, DESCRIPTION_MAX) == (200, 50, 1000)


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
