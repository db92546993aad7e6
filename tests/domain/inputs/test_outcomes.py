"""Outcomes: naming them, weighting them and picking one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.inputs.outcomes import match_outcome, parse_outcomes, parse_weights

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


# --- match_outcome ---------------------------------------------------------------------------------------------------

PICKS = ["Yes", "No", "Not sure"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (1, 1),
        (2, 2),
        ("Yes", 0),
        ("no", 1),
        ("NOT SURE", 2),
        ("  not   sure  ", 2),
        ("not\tsure", 2),
        ("Ｙｅｓ", 0),  # full-width letters
        ("ｎｏｔ　ｓｕｒｅ", 2),  # full-width letters and an ideographic space
        ("0", 0),
        ("2", 2),
        (" 1 ", 1),
        ("01", 1),
    ],
)
def test_match_outcome_finds(value: int | str, expected: int) -> None:
    assert match_outcome(PICKS, value) == expected


def test_match_outcome_compares_like_duplicates_are_detected() -> None:
    for name in ["Straße", "Ｙｅｓ", "Not  sure"]:
        with pytest.raises(ValidationError, match="listed more than once"):
            parse_outcomes(f"{name}, {name.upper()}")
    assert match_outcome(["Straße", "Other"], "STRASSE") == 0


def test_match_outcome_prefers_a_label_to_an_index() -> None:
    assert match_outcome(["1", "0"], "1") == 0
    assert match_outcome(["1", "0"], 1) == 1


@pytest.mark.parametrize("value", [-1, 3, 10**20])
def test_match_outcome_refuses_an_index(value: int) -> None:
    with pytest.raises(ValidationError) as info:
        match_outcome(PICKS, value)
    assert info.value.message == "That outcome is not one of this market's outcomes."


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Maybe", "Maybe"),
        ("3", "3"),
        ("-1", "-1"),
        ("1.0", "1.0"),
        ("", ""),
        (None, ""),
        (True, "True"),
        ("  two   words ", "two words"),
        ("bell\x07 and\u200b nul\x00", "bell and nul"),
        ("x" * 60, "x" * 49 + "…"),
        ("9" * 5000, "9" * 49 + "…"),
        ("²", "²"),
        ("１", "１"),
    ],
)
def test_match_outcome_refuses_text(value: int | str | None, shown: str) -> None:
    with pytest.raises(ValidationError) as info:
        match_outcome(PICKS, value)
    assert info.value.message == f"“{shown}” is not an outcome of this market. Choose one of: Yes, No, Not sure."
