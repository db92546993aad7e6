"""What a member gave a command, read once: who they are, and the values of the options they filled in.

Every option is read through these helpers, so an option means the same in every command, and a value
that cannot be what Discord sends for it becomes a member-readable error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.discord.router import Context
from app.domain import inputs, limits
from app.domain.actor import Actor
from app.domain.errors import NotFound, ValidationError
from app.domain.market import MarketStatus
from app.services.rows import Followup
from models.discord.interactions import TOKEN_LIFETIME, is_snowflake


def actor(ctx: Context) -> Actor:
    interaction = ctx.interaction
    if not interaction.guild_id:
        raise ValidationError("Hunch works inside a server. Use this command in one.")
    return Actor(
        guild_id=int(interaction.guild_id),
        user_id=int(interaction.actor.id),
        is_manager=interaction.is_manager,
        role_ids=frozenset(int(r) for r in interaction.role_ids),
        interaction_id=int(interaction.id),
        channel_id=int(interaction.channel_id) if interaction.channel_id else None,
    )


def _label(name: str) -> str:
    return name.replace("_", " ")


def string(ctx: Context, name: str) -> str | None:
    """A STRING option as sent (None when not given)."""
    value = ctx.option(name)
    if value is None or isinstance(value, str):
        return value
    raise ValidationError(f"The {_label(name)} must be text.")


def integer(ctx: Context, name: str) -> int | None:
    """An INTEGER option (None when not given)."""
    value = ctx.option(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit() and len(value) <= 20:
        return int(value)
    raise ValidationError(f"The {_label(name)} must be a whole number.")


def boolean(ctx: Context, name: str) -> bool:
    """A switch that is off unless given as true."""
    return bool(optional_boolean(ctx, name))


def optional_boolean(ctx: Context, name: str) -> bool | None:
    """A setting turned on or off, or left as it is (`None`) when not given."""
    value = ctx.option(name)
    if value is None or isinstance(value, bool):
        return value
    raise ValidationError(f"The {_label(name)} must be true or false.")


def snowflake(ctx: Context, name: str, what: str) -> int | None:
    """A USER, ROLE or CHANNEL option: the id Discord sends as a string of digits."""
    value = ctx.option(name)
    if value is None:
        return None
    if not is_snowflake(value):
        raise ValidationError(f"Pick a {what} from the list.")
    return int(value)


def followup(ctx: Context) -> Followup | None:
    """The interaction's reply, reachable through its token for the next 15 minutes."""
    interaction = ctx.interaction
    if not interaction.token or interaction.application_id is None:
        return None
    return Followup(
        interaction_id=int(interaction.id),
        application_id=int(interaction.application_id),
        token=interaction.token,
        expires_at=datetime.now(UTC) + TOKEN_LIFETIME,
    )


def member(ctx: Context, name: str = "user") -> int | None:
    """A USER option: the member's id (bots don't play)."""
    user_id = snowflake(ctx, name, "member")
    resolved = ctx.command.resolved if ctx.command is not None else None
    if user_id is not None and resolved is not None:
        user = resolved.users.get(str(user_id))
        if user is not None and user.bot:
            raise ValidationError("Bots don't play Hunch.")
    return user_id


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
    if value is not None and not isinstance(value, str):
        raise ValidationError("Enter a whole number of points.")
    text = value or ""
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
    elif not isinstance(value, str | int):
        raise ValidationError("Enter a number of shares.")
    return inputs.parse_shares(text)


def text(ctx: Context, name: str, *, max_length: int, field: str) -> str:
    """An optional one-line text option, cleaned (`""` when not given)."""
    value = string(ctx, name)
    return inputs.clean_text(value, max_length=max_length, field=field) if value else ""


async def market_number(ctx: Context, value: Any, statuses: tuple[MarketStatus, ...] = (MarketStatus.OPEN,)) -> int:
    """The market a member picked: `12`, `#12`, an autocomplete choice, or words that match exactly one
    market."""
    number = inputs.parse_market_reference(value)
    if number is not None:
        return number
    typed = value.strip() if isinstance(value, str) else ""
    if typed:
        found = await ctx.use_cases.search_markets(actor(ctx).guild_id, typed, statuses, limit=2)
        if len(found) == 1:
            return found[0][0]
    raise NotFound("Pick a market from the list (start typing its number or question).")
