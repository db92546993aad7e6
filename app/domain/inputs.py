"""Parsing and cleaning what members type.

Every function here is pure (no I/O, no clock) and either returns a clean value or raises
`app.errors.ValidationError` with a message that can be shown to the member as is. Messages never echo
arbitrary member input back except cleaned, length-limited outcome names, so a reply can't be turned into
a mention or a wall of text.

Only ASCII digits are accepted anywhere: `int()` and `Decimal()` happily read `１２`, `١٢`, `1_000` and
`1e9`, so every number is matched against an explicit ASCII pattern *before* it is converted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from app.errors import ValidationError

__all__ = [
    "DESCRIPTION_MAX",
    "MAX_AMOUNT",
    "MAX_SHARES",
    "OUTCOME_MAX",
    "QUESTION_MAX",
    "ValidationError",  # re-exported so callers can catch what these functions raise
    "clean_description",
    "clean_text",
    "outcome_key",
    "parse_amount",
    "parse_duration",
    "parse_outcomes",
    "parse_shares",
    "parse_weights",
]

QUESTION_MAX = 200
OUTCOME_MAX = 50
DESCRIPTION_MAX = 1000

MAX_INPUT_LENGTH = 20
"""Longest amount or share count we try to read; anything longer is refused before parsing."""

MAX_AMOUNT = 10**12
"""Largest number of points a single amount may be."""

MAX_SHARES = Decimal(10**12)
"""Largest share count; shares are stored as micro-shares in a BIGINT, so this keeps well inside it."""

SHARE_PLACES = 6

MIN_OUTCOMES = 2
MAX_OUTCOMES = 10
DEFAULT_OUTCOMES = ("Yes", "No")

MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=365)
_MAX_DURATION_INPUT = 40

# --- amounts ---------------------------------------------------------------------------------------------------------

# Digits, either plain or with commas in correct groups of three; an optional fraction (only meaningful with a
# k/m suffix); an optional suffix. ASCII only: `[0-9]`, never `\d`.
_AMOUNT = re.compile(
    r"(?P<int>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<frac>[0-9]+))?(?P<suffix>[km])?",
    re.IGNORECASE,
)
_SUFFIX = {"k": 1_000, "m": 1_000_000}
_AMOUNT_HELP = "Enter a whole number of points, like 250, 1,000, 2.5k or all."


def _group(n: int) -> str:
    return f"{n:,}"


def _read_amount(value: str) -> int:
    """The number an amount (already stripped, short, not `all`) stands for; may be zero."""
    if value.startswith("-"):
        raise ValidationError(f"The amount must be more than zero. {_AMOUNT_HELP}")
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise ValidationError(f"That isn't an amount I understand. {_AMOUNT_HELP}")
    whole = match["int"].replace(",", "")
    frac = match["frac"]
    suffix = match["suffix"]
    if frac is not None and suffix is None:
        raise ValidationError(f"Amounts are whole points, so no decimals. {_AMOUNT_HELP}")
    number = Decimal(f"{whole}.{frac}") if frac is not None else Decimal(whole)
    if suffix is not None:
        number *= _SUFFIX[suffix.lower()]
    if number != number.to_integral_value():
        raise ValidationError(f"That works out to a fraction of a point. {_AMOUNT_HELP}")
    return int(number)


def parse_amount(text: str, *, balance: int | None = None, maximum: int | None = None) -> int:
    """Read a positive whole number of points.

    Accepts `1000`, `1,000`, `12,345,678`, `1k`, `2.5k`, `1m` (suffixes case-insensitive; a fractional amount is
    only allowed with a suffix and only if the result is whole) and `all`, which means `balance` capped at
    `maximum`. The result is checked against `balance` and `maximum` when they are given.
    """
    value = text.strip()
    if not value:
        raise ValidationError(f"Enter an amount. {_AMOUNT_HELP}")
    if len(value) > MAX_INPUT_LENGTH:
        raise ValidationError(f"That amount is far too long. {_AMOUNT_HELP}")

    if value.casefold() == "all":
        if balance is None:
            raise ValidationError("You can't use 'all' here; enter a number of points instead.")
        if balance <= 0:
            raise ValidationError("You don't have any points to use.")
        return balance if maximum is None else min(balance, maximum)

    amount = _read_amount(value)
    if amount <= 0:
        raise ValidationError(f"The amount must be more than zero. {_AMOUNT_HELP}")
    if amount > MAX_AMOUNT:
        raise ValidationError(f"That amount is too large; the limit is {_group(MAX_AMOUNT)}.")
    if balance is not None and amount > balance:
        raise ValidationError(f"That's more than your balance ({_group(balance)}).")
    if maximum is not None and amount > maximum:
        raise ValidationError(f"The most you can stake at once is {_group(maximum)}.")
    return amount


# --- shares ----------------------------------------------------------------------------------------------------------

_SHARES = re.compile(r"(?P<int>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)?(?:\.(?P<frac>[0-9]+))?")
_SHARES_HELP = "Enter a number of shares, like 10 or 2.5."


def parse_shares(text: str) -> Decimal:
    """Read a positive share count with at most 6 decimal places (`12`, `0.5`, `1,024.25`).

    `all` is not accepted: callers that allow it check for it first.
    """
    value = text.strip()
    if not value:
        raise ValidationError(f"Enter a number of shares. {_SHARES_HELP}")
    if len(value) > MAX_INPUT_LENGTH:
        raise ValidationError(f"That number of shares is far too long. {_SHARES_HELP}")
    if value.startswith("-"):
        raise ValidationError(f"The number of shares must be more than zero. {_SHARES_HELP}")
    match = _SHARES.fullmatch(value)
    if match is None or (match["int"] is None and match["frac"] is None):
        raise ValidationError(f"That isn't a number of shares I understand. {_SHARES_HELP}")
    whole = (match["int"] or "0").replace(",", "")
    frac = match["frac"]
    if frac is not None and len(frac) > SHARE_PLACES:
        raise ValidationError(f"Shares can have at most {SHARE_PLACES} decimal places.")
    shares = Decimal(f"{whole}.{frac}") if frac is not None else Decimal(whole)
    if shares <= 0:
        raise ValidationError(f"The number of shares must be more than zero. {_SHARES_HELP}")
    if shares > MAX_SHARES:
        raise ValidationError(f"That's too many shares; the limit is {_group(10**12)}.")
    return shares


# --- durations -------------------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"\s*([0-9]+)\s*([mhdw])\s*", re.IGNORECASE)
_DURATION = re.compile(r"(?:\s*[0-9]+\s*[mhdw]\s*)+", re.IGNORECASE)
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 60 * 24, "w": 60 * 24 * 7}
_DURATION_HELP = "Use a duration like 90m, 2h, 3d or 1w."


def parse_duration(text: str) -> timedelta:
    """Read a duration such as `90m`, `2h`, `3d`, `1w`, `1h30m` or `1d 12h` (units m, h, d, w).

    Each unit may appear once. The result is between 1 minute and 365 days inclusive.
    """
    value = text.strip()
    if not value or len(value) > _MAX_DURATION_INPUT or _DURATION.fullmatch(value) is None:
        raise ValidationError(_DURATION_HELP)
    minutes = 0
    seen: set[str] = set()
    for number, letter in _DURATION_PART.findall(value):
        unit = letter.lower()
        if unit in seen:
            raise ValidationError(f"Give each unit only once. {_DURATION_HELP}")
        seen.add(unit)
        minutes += int(number) * _UNIT_MINUTES[unit]
    if minutes < MIN_DURATION.total_seconds() // 60:
        raise ValidationError(f"A duration must be at least 1 minute. {_DURATION_HELP}")
    if minutes > MAX_DURATION.total_seconds() // 60:
        raise ValidationError("A duration can be at most 365 days.")
    return timedelta(minutes=minutes)


# --- free text -------------------------------------------------------------------------------------------------------

# Invisible characters outside categories Cc/Cf that render as blank and are used to fake empty names.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0")
# Control (Cc), format (Cf: zero-width space/joiners, bidi controls, BOM, ...) and lone surrogates (Cs, which
# can't be encoded as UTF-8 and would break storage or the reply).
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def _drop_invisible(text: str) -> str:
    """Turn every whitespace character into a plain space and drop control, format and blank characters."""
    out: list[str] = []
    for char in text:
        if char.isspace():
            out.append(" ")
        elif char in _INVISIBLE or unicodedata.category(char) in _DROPPED_CATEGORIES:
            continue
        else:
            out.append(char)
    return "".join(out)


_SPACES = re.compile(" {2,}")


def clean_text(text: str, *, max_length: int, field: str) -> str:
    """One line of member text: control/format/zero-width characters removed, whitespace collapsed, stripped.

    Raises if the result is empty or longer than `max_length` characters.
    """
    cleaned = _SPACES.sub(" ", _drop_invisible(text)).strip()
    if not cleaned:
        raise ValidationError(f"The {field} can't be empty.")
    if len(cleaned) > max_length:
        raise ValidationError(f"The {field} can be at most {max_length} characters.")
    return cleaned


def clean_description(text: str, max_length: int = DESCRIPTION_MAX, *, field: str = "description") -> str:
    """Multi-line member text: like `clean_text`, but line breaks survive.

    Each line is cleaned and stripped; runs of blank lines become a single blank line (so paragraphs survive but
    a description can't be padded with empty lines); leading and trailing blank lines are removed. May be empty,
    in which case `""` is returned.
    """
    lines = [_SPACES.sub(" ", _drop_invisible(line)).strip() for line in text.splitlines()]
    paragraphs: list[str] = []
    for line in lines:
        if line or (paragraphs and paragraphs[-1]):
            paragraphs.append(line)
    while paragraphs and not paragraphs[-1]:
        paragraphs.pop()
    cleaned = "\n".join(paragraphs)
    if len(cleaned) > max_length:
        raise ValidationError(f"The {field} can be at most {max_length} characters.")
    return cleaned


# --- outcomes and weights --------------------------------------------------------------------------------------------


def outcome_key(name: str) -> str:
    """How outcome names are compared: compatibility-normalised, case-folded, whitespace-collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _quote(name: str) -> str:
    shown = name if len(name) <= OUTCOME_MAX else name[: OUTCOME_MAX - 1] + "…"
    return f"“{shown}”"


def parse_outcomes(text: str | None) -> list[str]:
    """Read comma-separated outcomes; None or blank gives `["Yes", "No"]`.

    Each outcome is cleaned (at most 50 characters); there must be 2–10 of them, no empty ones, and no two that
    differ only in case.
    """
    if text is None or not _drop_invisible(text).strip():
        return list(DEFAULT_OUTCOMES)
    items = text.split(",")
    if len(items) > MAX_OUTCOMES:
        raise ValidationError(f"A market can have at most {MAX_OUTCOMES} outcomes.")
    outcomes: list[str] = []
    seen: set[str] = set()
    for item in items:
        if not _drop_invisible(item).strip():
            raise ValidationError("One of the outcomes is empty; check for a stray comma.")
        outcome = clean_text(item, max_length=OUTCOME_MAX, field="outcome")
        key = outcome_key(outcome)
        if key in seen:
            raise ValidationError(f"The outcome {_quote(outcome)} is listed more than once.")
        seen.add(key)
        outcomes.append(outcome)
    if len(outcomes) < MIN_OUTCOMES:
        raise ValidationError(
            f"A market needs at least {MIN_OUTCOMES} outcomes, separated by commas (like Red, Blue, Green)."
        )
    return outcomes


_WEIGHT = re.compile(r"[0-9]{1,3}")
_WEIGHTS_HELP = 'Write weights like "Red 70, Blue 30" (whole percentages adding up to 100).'


def parse_weights(text: str, outcomes: Sequence[str]) -> list[int]:
    """Read per-outcome percentages such as `Red 70, Blue 30` or `Red: 70%, Blue: 30%`.

    Returns one whole percentage (0–100) per entry of `outcomes`, in that order; outcomes not mentioned get 0.
    Names are matched like `outcome_key`; the weights must add up to exactly 100.
    """
    keys = {outcome_key(outcome): index for index, outcome in enumerate(outcomes)}
    if not _drop_invisible(text).strip():
        raise ValidationError(f"Enter the weights. {_WEIGHTS_HELP}")
    weights = [0] * len(outcomes)
    given: set[int] = set()
    for raw in text.split(","):
        item = _SPACES.sub(" ", _drop_invisible(raw)).strip()
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
