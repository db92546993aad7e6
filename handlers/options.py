"""What a member gave a command, read once: who they are, and the values of the options they filled in.

Every option is read through these helpers, so an option means the same in every command, and a value
that cannot be what Discord sends for it becomes a member-readable error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.discord.router import Context
from app.domain import inputs, limits
from app.domain.actor import Actor
from app.domain.errors import NotFound, ValidationError
from app.domain.market import MarketStatus


def actor(ctx: Context) -> Actor:
    interaction = ctx.interaction
    if not interaction.guild_id:
        raise ValidationError("Hunch works inside a server. Use this command in one.")
    return Actor(
        guild_id=int(interaction.guild_id),
        user_id=int(interaction.actor.id),
        is_manager=interaction.is_manager,
        role_ids=frozenset(int(r) for r in interaction.role_ids if r.isdigit()),
        interaction_id=int(interaction.id) if interaction.id.isdigit() else None,
    )


def member(ctx: Context, name: str = "user") -> int | None:
    """A USER option: the member's id (bots don't play)."""
    value = ctx.option(name)
    if value is None:
        return None
    text = str(value)
    if not text.isascii() or not text.isdigit():
        raise ValidationError("Pick a member from the list.")
    resolved = ctx.interaction.command.resolved
    if resolved is not None and text in resolved.users and resolved.users[text].bot:
        raise ValidationError("Bots don't play Hunch.")
    return int(text)


def points(value: Any, *, allow_all: bool = False) -> int | None:
    """Whole points from an INTEGER option or what a member typed (`1,000`, `2.5k`; `all` where allowed,
    which gives `None`: the use case caps it at the balance and the maximum stake)."""
    if isinstance(value, bool):
        raise ValidationError("Enter a whole number of points.")
    if isinstance(value, int):
        if value < 1:
            raise ValidationError("The amount must be at least 1.")
        if value > limits.MAX_POINTS:
            raise ValidationError(f"That amount is too large; the limit is {limits.MAX_POINTS:,}.")
        return value
    text = str(value if value is not None else "")
    if allow_all and text.strip().casefold() == "all":
        return None
    return inputs.parse_amount(text)


def required_points(value: Any) -> int:
    amount = points(value)
    assert amount is not None  # only `allow_all` gives None
    return amount


def shares(value: Any) -> Decimal | None:
    """A share count from a NUMBER option or what a member typed; `None` (or `all`) means all they hold."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError("Enter a number of shares.")
    text = str(value).strip()
    if text.casefold() in ("", "all"):
        return None
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
    return inputs.parse_shares(text)


def text(ctx: Context, name: str, *, max_length: int, field: str) -> str:
    """An optional one-line text option, cleaned (`""` when not given)."""
    value = ctx.option(name)
    return inputs.clean_text(str(value), max_length=max_length, field=field) if value else ""


def integer(ctx: Context, name: str) -> int | None:
    value = ctx.option(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise ValidationError(f"The {name.replace('_', ' ')} must be a whole number.")
    return int(value)


async def market_number(ctx: Context, value: Any, statuses: tuple[MarketStatus, ...] = (MarketStatus.OPEN,)) -> int:
    """The market a member picked: `12`, `#12`, an autocomplete choice, or words that match exactly one
    market."""
    number = inputs.parse_market_reference(value)
    if number is not None:
        return number
    typed = str(value or "").strip()
    if typed:
        found = await ctx.use_cases.search_markets(actor(ctx).guild_id, typed, statuses, limit=2)
        if len(found) == 1:
            return found[0][0]
    raise NotFound("Pick a market from the list (start typing its number or question).")
