"""Which market a member means: the number they typed, or the autocomplete choice they picked."""

from __future__ import annotations

import re

__all__ = ["parse_market_reference"]

# One to nine ASCII digits: a longer number is no market's number (and isn't worth converting).
_NUMBER = re.compile(r"[0-9]{1,9}")
_LABEL_SEPARATOR = "·"
"""Autocomplete labels read `#12 · Will it rain?`: the number comes before this."""


def _without_hash(text: str) -> str:
    return text.strip().lstrip("#").strip()


def _number(text: str) -> int | None:
    return int(text) if _NUMBER.fullmatch(text) else None


def parse_market_reference(value: object) -> int | None:
    """The market number in `12`, `#12`, ` # 12 ` or an autocomplete label `#12 · Will it rain?`, else None.

    None also for text with no number (`rain`, `#`, `-3`) and for numbers of 10 or more digits.
    """
    text = _without_hash(str(value if value is not None else ""))
    number = _number(text)
    if number is None:
        number = _number(_without_hash(text.split(_LABEL_SEPARATOR, 1)[0]))
    return number
