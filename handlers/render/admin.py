"""A server's Hunch settings as `/admin config` shows them."""

from __future__ import annotations

from app.services.results import GuildConfig
from handlers.render import format as fmt
from handlers.render.style import BLURPLE
from models.discord.messages import Embed

_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60))


def duration_text(seconds: int) -> str:
    """`3d`, `90m`: the largest unit that divides the duration (the way members type durations)."""
    for unit, size in _UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _role(role_id: int | None, otherwise: str) -> str:
    return f"<@&{role_id}>" if role_id else otherwise


def _off(seconds: int) -> str:
    return duration_text(seconds) if seconds > 0 else "off"


def config_embed(config: GuildConfig) -> Embed:
    currency = config.currency_name
    rows = [
        ("Starting balance", fmt.points(config.starting_balance, currency)),
        ("Daily bonus", fmt.points(config.daily_bonus, currency)),
        ("Default liquidity", fmt.points(config.default_liquidity, currency)),
        ("Default duration", duration_text(config.default_duration_seconds)),
        ("Max stake", fmt.points(config.max_stake, currency)),
        ("Currency", currency),
        ("Who can create markets", _role(config.creator_role_id, "anyone")),
        ("Resolvers", _role(config.resolver_role_id, "creators and managers")),
        ("Winners mentioned", "yes" if config.mention_winners else "no"),
        ("Closing announced", "an hour before" if config.announce_closing else "no"),
        ("Unresolve window", _off(config.unresolve_window_seconds)),
        ("Auto refund after", _off(config.auto_refund_after_seconds)),
    ]
    return {
        "title": "Hunch settings",
        "fields": [{"name": name, "value": value, "inline": True} for name, value in rows],
        "color": BLURPLE,
    }
