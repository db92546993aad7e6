"""Parsing and cleaning what members type.

Every function here is pure (no I/O, no clock) and either returns a clean value or raises
`app.domain.errors.ValidationError` with a message that can be shown to the member as is. Messages never echo
arbitrary member input back except cleaned, length-limited outcome names, so a reply can't be turned into
a mention or a wall of text. Every bound comes from `app.domain.limits`.

Only ASCII digits are accepted anywhere: `int()` and `Decimal()` happily read `１２`, `١٢`, `1_000` and
`1e9`, so every number is matched against an explicit ASCII pattern *before* it is converted.

One concept per module: `amounts` (points and shares), `durations`, `text` (free text), `outcomes` (naming,
comparing, weighting and picking outcomes) and `references` (which market a member means).
"""

from __future__ import annotations

from app.domain.inputs.amounts import parse_amount, parse_shares
from app.domain.inputs.durations import parse_duration, parse_duration_or_off
from app.domain.inputs.outcomes import match_outcome, outcome_key, parse_outcomes, parse_weights
from app.domain.inputs.references import parse_market_reference
from app.domain.inputs.text import clean_description, clean_text

__all__ = [
    "clean_description",
    "clean_text",
    "match_outcome",
    "outcome_key",
    "parse_amount",
    "parse_duration",
    "parse_duration_or_off",
    "parse_market_reference",
    "parse_outcomes",
    "parse_shares",
    "parse_weights",
]
