"""Seasons: a server's play in rounds. Starting a season keeps the standings of the one that ends and brings
every member's balance back to the starting balance; a server that never started one is in its first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain import limits
from app.domain.errors import ValidationError
from app.domain.inputs.text import clean_line

FIRST_SEASON = 1


def default_name(number: int) -> str:
    return f"Season {number}"


def season_name(typed: str | None, number: int) -> str:
    """The name of season `number`: what a manager typed (one line, at most `SEASON_NAME_MAX` characters), or
    `Season <number>`."""
    name = clean_line(typed or "")
    if not name:
        return default_name(number)
    if len(name) > limits.SEASON_NAME_MAX:
        raise ValidationError(f"A season's name can be at most {limits.SEASON_NAME_MAX} characters.")
    return name


def name_key(name: str) -> str:
    """Names are unique per server ignoring case and spacing."""
    return " ".join(clean_line(name).casefold().split())


@dataclass(frozen=True, slots=True)
class Season:
    id: int | None  # None: the first season of a server that never started one (no row yet)
    number: int
    name: str
    started_at: datetime
    ended_at: datetime | None = None
