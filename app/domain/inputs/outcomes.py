"""A market's outcomes: naming them, comparing them, weighting them and picking one.

Every comparison of outcome names goes through `outcome_key`, so the name that is refused as a duplicate is
the name that is matched when a member picks or weights an outcome.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from app.domain.errors import ValidationError
from app.domain.inputs.text import clean_line, clean_text, drop_invisible
from app.domain.limits import DEFAULT_OUTCOMES, OUTCOME_MAX, OUTCOMES

__all__ = ["match_outcome", "outcome_key", "parse_outcomes", "parse_weights"]


def outcome_key(name: str) -> str:
    """How outcome names are compared: compatibility-normalised, case-folded, whitespace-collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _quote(name: str) -> str:
    """`name` in quotes, cut to `OUTCOME_MAX` characters so a reply can't become a wall of text."""
    shown = name if len(name) <= OUTCOME_MAX else name[: OUTCOME_MAX - 1] + "…"
    return f"“{shown}”"


# --- naming ----------------------------------------------------------------------------------------------------------


def parse_outcomes(text: str | None) -> list[str]:
    """Read comma-separated outcomes; None or blank gives `DEFAULT_OUTCOMES` (`["Yes", "No"]`).

    Each outcome is cleaned (at most `OUTCOME_MAX` characters); there must be `OUTCOMES` (2–10) of them, no empty
    ones, and no two with the same `outcome_key`.
    """
    if text is None or not drop_invisible(text).strip():
        return list(DEFAULT_OUTCOMES)
    items = text.split(",")
    if len(items) > OUTCOMES.high:
        raise ValidationError(f"A market can have at most {OUTCOMES.high} outcomes.")
    outcomes: list[str] = []
    seen: set[str] = set()
    for item in items:
        if not drop_invisible(item).strip():
            raise ValidationError("One of the outcomes is empty; check for a stray comma.")
        outcome = clean_text(item, max_length=OUTCOME_MAX, field="outcome")
        key = outcome_key(outcome)
        if key in seen:
            raise ValidationError(f"The outcome {_quote(outcome)} is listed more than once.")
        seen.add(key)
        outcomes.append(outcome)
    if len(outcomes) < OUTCOMES.low:
        raise ValidationError(
            f"A market needs at least {OUTCOMES.low} outcomes, separated by commas (like Red, Blue, Green)."
        )
    return outcomes


# --- weighting -------------------------------------------------------------------------------------------------------

_WEIGHT = re.compile(r"[0-9]{1,3}")
_WEIGHTS_HELP = 'Write weights like "Red 70, Blue 30" (whole percentages adding up to 100).'


def parse_weights(text: str, outcomes: Sequence[str]) -> list[int]:
    """Read per-outcome percentages such as `Red 70, Blue 30` or `Red: 70%, Blue: 30%`.

    Returns one whole percentage (0–100) per entry of `outcomes`, in that order; outcomes not mentioned get 0.
    Names are matched like `outcome_key`; the weights must add up to exactly 100.
    """
    keys = {outcome_key(outcome): index for index, outcome in enumerate(outcomes)}
    if not drop_invisible(text).strip():
        raise ValidationError(f"Enter the weights. {_WEIGHTS_HELP}")
    weights = [0] * len(outcomes)
    given: set[int] = set()
    for raw in text.split(","):
        item = clean_line(raw)
        if not item:
            raise ValidationError(f"One of the weights is empty; check for a stray comma. {_WEIGHTS_HELP}")
        # The weight is the last token: whatever follows the last space or colon, before an optional `%`.
        body = item.removesuffix("%").rstrip()
        cut = max(body.rfind(" "), body.rfind(":"))
        name, number = body[:cut].strip(), body[cut + 1 :]
        if cut < 0 or not name or not number:
            raise ValidationError(f"Each weight needs an outcome and a number. {_WEIGHTS_HELP}")
        index = keys.get(outcome_key(name))
        if index is None and name.endswith(":"):
            name = name[:-1].rstrip()
            index = keys.get(outcome_key(name))
        if index is None:
            raise ValidationError(f"There's no outcome called {_quote(name)}.")
        shown = _quote(outcomes[index])
        if index in given:
            raise ValidationError(f"{shown} has more than one weight.")
        given.add(index)
        if _WEIGHT.fullmatch(number) is None or int(number) > 100:
            raise ValidationError(f"The weight for {shown} must be a whole number from 0 to 100.")
        weights[index] = int(number)
    total = sum(weights)
    if total != 100:
        raise ValidationError(f"The weights add up to {total}%, but they must add up to exactly 100%.")
    return weights


# --- picking ---------------------------------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


def _index(text: str, count: int) -> int | None:
    """The index an ASCII digit string names, if it is below `count`; read without converting a huge number."""
    if _DIGITS.fullmatch(text) is None:
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(count)):
        return None
    index = int(digits)
    return index if index < count else None


def match_outcome(outcomes: Sequence[str], value: int | str | None) -> int:
    """The index of the outcome `value` names: an index (int), or a label compared by `outcome_key`.

    Text that is no label but a digit string is taken as an index. Anything else is refused, naming the
    outcomes there are.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(outcomes):
            return value
        raise ValidationError("That outcome is not one of this market's outcomes.")
    text = str(value if value is not None else "").strip()
    key = outcome_key(text)
    for index, label in enumerate(outcomes):
        if outcome_key(label) == key:
            return index
    named = _index(text, len(outcomes))
    if named is not None:
        return named
    shown = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
    raise ValidationError(f"{_quote(shown)} is not an outcome of this market. Choose one of: {', '.join(outcomes)}.")
