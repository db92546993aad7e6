"""Amounts of points and numbers of shares.

Only ASCII digits are accepted: `int()` and `Decimal()` happily read `１２`, `١٢`, `1_000` and `1e9`, so every
number is matched against an explicit ASCII pattern *before* it is converted, and its length is checked before
that.
"""

from __future__ import annotations

import re
from decimal import Decimal

from app.domain.errors import ValidationError
from app.domain.limits import MAX_POINTS, MAX_SHARES, NUMBER_TEXT_MAX, SHARE_PLACES

__all__ = ["parse_amount", "parse_shares"]


def _group(n: int) -> str:
    return f"{n:,}"


# --- amounts ---------------------------------------------------------------------------------------------------------

# Digits, either plain or with commas in correct groups of three; an optional fraction (only meaningful with a
# k/m suffix); an optional suffix. ASCII only: `[0-9]`, never `\d`.
_AMOUNT = re.compile(
    r"(?P<int>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<frac>[0-9]+))?(?P<suffix>[km])?",
    re.IGNORECASE,
)
_SUFFIX = {"k": 1_000, "m": 1_000_000}
_AMOUNT_HELP = "Enter a whole number of points, like 250, 1,000, 2.5k or all."


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
    if len(value) > NUMBER_TEXT_MAX:
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
    if amount > MAX_POINTS:
        raise ValidationError(f"That amount is too large; the limit is {_group(MAX_POINTS)}.")
    if balance is not None and amount > balance:
        raise ValidationError(f"That's more than your balance ({_group(balance)}).")
    if maximum is not None and amount > maximum:
        raise ValidationError(f"The most you can stake at once is {_group(maximum)}.")
    return amount


# --- shares ----------------------------------------------------------------------------------------------------------

_SHARES = re.compile(r"(?P<int>[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)?(?:\.(?P<frac>[0-9]+))?")
_SHARES_HELP = "Enter a number of shares, like 10 or 2.5."


def parse_shares(text: str) -> Decimal:
    """Read a positive share count with at most `SHARE_PLACES` decimal places (`12`, `0.5`, `1,024.25`).

    `all` is not accepted: callers that allow it check for it first.
    """
    value = text.strip()
    if not value:
        raise ValidationError(f"Enter a number of shares. {_SHARES_HELP}")
    if len(value) > NUMBER_TEXT_MAX:
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
        raise ValidationError(f"That's too many shares; the limit is {_group(int(MAX_SHARES))}.")
    return shares
