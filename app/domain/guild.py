"""A server's Hunch settings: defaults, and the changes a manager may make with `/admin config`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from app.domain import limits
from app.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    starting_balance: int = 1000
    daily_bonus: int = 100
    default_liquidity: int = 1000
    default_duration_seconds: int = 7 * 86400
    max_stake: int = 100_000
    currency_name: str = "points"
    creator_role_id: int | None = None
    resolver_role_id: int | None = None
    mention_winners: bool = False  # settlement summaries ping the winners they name
    announce_closing: bool = False  # a market's channel hears when it closes within the hour
    unresolve_window_seconds: int = 600  # a creator may unresolve their market this long after it settled
    auto_refund_after_seconds: int = 14 * 86400  # a closed market nobody resolves is refunded (0: never)


DEFAULTS = GuildSettings(guild_id=0)

_BOUNDS = {
    "starting_balance": limits.STARTING_BALANCE,
    "daily_bonus": limits.DAILY_BONUS,
    "default_liquidity": limits.LIQUIDITY,
    "default_duration_seconds": limits.DURATION_SECONDS,
    "max_stake": limits.MAX_STAKE,
    "unresolve_window_seconds": limits.UNRESOLVE_WINDOW_SECONDS,
    "auto_refund_after_seconds": limits.AUTO_REFUND_SECONDS,
}


@dataclass(frozen=True)
class ConfigChange:
    """What `/admin config` was asked to change; `None` leaves a setting as it is."""

    starting_balance: int | None = None
    daily_bonus: int | None = None
    default_liquidity: int | None = None
    default_duration_seconds: int | None = None
    max_stake: int | None = None
    currency_name: str | None = None
    creator_role_id: int | None = None
    resolver_role_id: int | None = None
    mention_winners: bool | None = None
    announce_closing: bool | None = None
    unresolve_window_seconds: int | None = None
    auto_refund_after_seconds: int | None = None
    clear_creator_role: bool = False
    clear_resolver_role: bool = False

    def changes(self) -> dict[str, Any]:
        """The settings to write, by name, checked against their bounds."""
        values = {k: v for k, v in asdict(self).items() if v is not None and not k.startswith("clear_")}
        if self.clear_creator_role:
            values["creator_role_id"] = None
        if self.clear_resolver_role:
            values["resolver_role_id"] = None
        for name, bounds in _BOUNDS.items():
            if name in values and values[name] not in bounds:
                raise ValidationError(_describe(name, bounds))
        currency = values.get("currency_name")
        if currency is not None and not str(currency).strip():
            raise ValidationError("The currency name can't be empty.")
        return values


SETTING_NAMES = tuple(f.name for f in fields(GuildSettings) if f.name != "guild_id")


_TYPED_AS_DURATIONS = ("unresolve_window_seconds", "auto_refund_after_seconds")


def _describe(name: str, bounds: limits.Bounds) -> str:
    if name in _TYPED_AS_DURATIONS:  # typed like `3d` (or `off`), not as seconds
        return f"The {name.removesuffix('_seconds').replace('_', ' ')} can be at most {bounds.high // 86400:,} days."
    return bounds.describe(name.replace("_", " "))
