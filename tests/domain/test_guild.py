"""A server's settings and the changes a manager may make (`app/domain/guild.py`)."""

from __future__ import annotations

import pytest

from app.domain import limits
from app.domain.errors import ValidationError
from app.domain.guild import DEFAULTS, SETTING_NAMES, ConfigChange


def test_defaults() -> None:
    assert (DEFAULTS.starting_balance, DEFAULTS.daily_bonus, DEFAULTS.currency_name) == (1000, 100, "points")
    assert "guild_id" not in SETTING_NAMES and "max_stake" in SETTING_NAMES


def test_only_what_was_given_changes() -> None:
    assert ConfigChange().changes() == {}
    assert ConfigChange(daily_bonus=0, creator_role_id=5).changes() == {"daily_bonus": 0, "creator_role_id": 5}
    assert ConfigChange(clear_resolver_role=True).changes() == {"resolver_role_id": None}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (ConfigChange(starting_balance=-1), "starting balance must be between 0 and 1,000,000,000"),
        (ConfigChange(default_liquidity=limits.LIQUIDITY.high + 1), "default liquidity must be between 10"),
        (ConfigChange(default_duration_seconds=59), "default duration seconds must be between 60"),
        (ConfigChange(max_stake=0), "max stake must be between 1"),
        (ConfigChange(currency_name="  "), "can't be empty"),
    ],
)
def test_out_of_bounds(change: ConfigChange, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        change.changes()


def test_the_unresolve_window_and_the_auto_refund_take_durations_within_their_bounds() -> None:
    assert (DEFAULTS.unresolve_window_seconds, DEFAULTS.auto_refund_after_seconds) == (600, 14 * 86400)
    assert ConfigChange(unresolve_window_seconds=0, auto_refund_after_seconds=0).changes() == {
        "unresolve_window_seconds": 0,
        "auto_refund_after_seconds": 0,
    }
    with pytest.raises(ValidationError, match=r"The unresolve window can be at most 7 days\."):
        ConfigChange(unresolve_window_seconds=8 * 86400).changes()
    with pytest.raises(ValidationError, match=r"The auto refund after can be at most 365 days\."):
        ConfigChange(auto_refund_after_seconds=366 * 86400).changes()
