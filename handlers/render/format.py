"""How numbers, probabilities and times appear to members.

This is a public contract: every reply formats values through these helpers so they look the same
everywhere, and tests assert on the exact strings. Pure functions, stdlib only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal

DEFAULT_CURRENCY = "points"
ELLIPSIS = "…"
BAR_FULL = "█"
BAR_EMPTY = "░"
TIMESTAMP_STYLES = frozenset("tTdDfFR")

_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")
_THOUSANDTH = Decimal("0.001")
_HUNDRED = Decimal(100)
# Quantizing needs enough precision for every digit of the result; the default context (28) is not enough
# for very large values, so use a generous one.
_WIDE = Context(prec=100)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def points(n: int, currency: str = DEFAULT_CURRENCY) -> str:
    """`1,250 points`, `-40 points`: the number with thousands separators, then the currency word as configured.

    The word is never inflected (`1 points`): the format is a contract members' tools and tests read.
    """
    return f"{n:,} {currency}"


def signed_points(n: int, currency: str = DEFAULT_CURRENCY) -> str:
    """A profit or loss: `+120 points`, `-40 points`, `0 points`."""
    return f"+{points(n, currency)}" if n > 0 else points(n, currency)


def shares(d: Decimal) -> str:
    """`142.35 shares`, `1,024.00 shares`: two decimals, rounded toward zero so it never shows more than held."""
    if not d.is_finite():
        raise ValueError(f"cannot format {d!r} as shares")
    shown = d.quantize(_CENT, rounding=ROUND_DOWN, context=_WIDE)
    if shown.is_zero():
        shown = abs(shown)  # no "-0.00"
    return f"{shown:,.2f} shares"


def percent(p: Decimal) -> str:
    """A probability in [0, 1] as a percentage with one decimal: `63.2%`.

    Only exactly 0 and exactly 1 show as `0.0%` and `100.0%`; anything in between that would round to those
    shows as `<0.1%` or `>99.9%`.
    """
    if not p.is_finite() or p < 0 or p > 1:
        raise ValueError(f"probability out of range: {p!r}")
    if p == 0:
        return "0.0%"
    if p == 1:
        return "100.0%"
    shown = (p * _HUNDRED).quantize(_TENTH, rounding=ROUND_HALF_EVEN, context=_WIDE)
    if shown <= 0:
        return "<0.1%"
    if shown >= _HUNDRED:
        return ">99.9%"
    return f"{shown:.1f}%"


def bar(p: Decimal, width: int = 12) -> str:
    """A text bar of `width` cells, filled in proportion to the probability `p` (rounded to the nearest cell)."""
    if width < 1:
        raise ValueError("width must be at least 1")
    if not p.is_finite() or p < 0 or p > 1:
        raise ValueError(f"probability out of range: {p!r}")
    filled = int((p * width).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_WIDE))
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def timestamp(dt: datetime, style: str = "R") -> str:
    """A Discord timestamp such as `<t:1700000000:R>`, shown in each member's own time zone.

    A naive `dt` is taken to be UTC. `style` is one of Discord's t, T, d, D, f, F, R.
    """
    if style not in TIMESTAMP_STYLES:
        raise ValueError(f"unknown Discord timestamp style: {style!r}")
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        dt = dt.replace(tzinfo=UTC)
    seconds = (dt - _EPOCH) // timedelta(seconds=1)  # exact, floors sub-second times (no float rounding)
    return f"<t:{seconds}:{style}>"


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, otherwise cut with a trailing `…` (the result is ≤ `limit`)."""
    if limit < 0:
        raise ValueError("limit must not be negative")
    if len(text) <= limit:
        return text
    if limit == 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def signed_percent(ratio: Decimal) -> str:
    """A return as a signed percentage with one decimal: `+12.5%`, `-40.0%`, `0.0%` (any size)."""
    if not ratio.is_finite():
        raise ValueError(f"cannot format {ratio!r} as a percentage")
    shown = (ratio * _HUNDRED).quantize(_TENTH, rounding=ROUND_HALF_EVEN, context=_WIDE)
    if shown.is_zero():
        return "0.0%"
    return f"{shown:+,.1f}%"


def brier(score: Decimal) -> str:
    """A Brier score with three decimals: `0.182` (0 is a perfect forecast, 2 the worst)."""
    if not score.is_finite() or score < 0:
        raise ValueError(f"not a Brier score: {score!r}")
    return f"{score.quantize(_THOUSANDTH, rounding=ROUND_HALF_EVEN, context=_WIDE):.3f}"
