"""Season names (`app/domain/seasons.py`)."""

from __future__ import annotations

import pytest

from app.domain import limits
from app.domain.errors import ValidationError
from app.domain.seasons import name_key, season_name


def test_a_season_without_a_name_is_called_by_its_number() -> None:
    assert season_name(None, 2) == "Season 2"
    assert season_name("  \u200b ", 3) == "Season 3"


def test_a_name_is_one_clean_line_of_bounded_length() -> None:
    assert season_name("  Winter \n  Cup ", 2) == "Winter Cup"
    assert season_name("x" * limits.SEASON_NAME_MAX, 2) == "x" * limits.SEASON_NAME_MAX
    with pytest.raises(ValidationError, match=str(limits.SEASON_NAME_MAX)):
        season_name("x" * (limits.SEASON_NAME_MAX + 1), 2)


def test_names_are_told_apart_ignoring_case_and_spacing() -> None:
    assert name_key("Winter  CUP") == name_key("winter cup") == "winter cup"
    assert name_key("Winter Cup") != name_key("Winter Cup 2")
