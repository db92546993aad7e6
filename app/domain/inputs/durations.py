"""How long something lasts, as members write it: `90m`, `2h`, `1d 12h`."""

from __future__ import annotations

import re
from datetime import timedelta

from app.domain.errors import ValidationError
from app.domain.limits import DURATION_SECONDS

__all__ = ["parse_duration", "parse_duration_or_off"]

_MAX_DURATION_INPUT = 40
"""Longest duration text we try to read; anything longer is refused before parsing."""

_DURATION_PART = re.compile(r"\s*([0-9]+)\s*([mhdw])\s*", re.IGNORECASE)
_DURATION = re.compile(r"(?:\s*[0-9]+\s*[mhdw]\s*)+", re.IGNORECASE)
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 60 * 24, "w": 60 * 24 * 7}
_DURATION_HELP = "Use a duration like 90m, 2h, 3d or 1w."
_SPOKEN_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _spoken(seconds: int) -> str:
    """A bound as a member reads it, in its largest whole unit: `1 minute`, `365 days`."""
    name, size = next((name, size) for name, size in _SPOKEN_UNITS if seconds % size == 0)
    count = seconds // size
    return f"{count:,} {name}" + ("" if count == 1 else "s")


def parse_duration(text: str) -> timedelta:
    """Read a duration such as `90m`, `2h`, `3d`, `1w`, `1h30m` or `1d 12h` (units m, h, d, w).

    Each unit may appear once. The result is within `DURATION_SECONDS` (1 minute to 365 days) inclusive.
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
    seconds = minutes * 60
    if seconds < DURATION_SECONDS.low:
        raise ValidationError(f"A duration must be at least {_spoken(DURATION_SECONDS.low)}. {_DURATION_HELP}")
    if seconds > DURATION_SECONDS.high:
        raise ValidationError(f"A duration can be at most {_spoken(DURATION_SECONDS.high)}.")
    return timedelta(seconds=seconds)


_OFF = ("off", "never", "0")


def parse_duration_or_off(text: str) -> int:
    """A setting's duration in seconds, or 0 for `off` (also `never`, `0`)."""
    if text.strip().casefold() in _OFF:
        return 0
    return int(parse_duration(text).total_seconds())
