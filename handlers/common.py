"""What every handler needs: the acting member, the market and outcome a member picked, rate limits."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from app.discord.router import Context
from app.errors import NotFound, RateLimited, ValidationError
from app.persistence.unit_of_work import UnitOfWork
from app.ratelimit import Limit
from app.services import common as service
from app.services import queries
from app.services.markets import outcome_index

__all__ = ["actor", "check_rate", "market_number", "outcome_index", "read", "run"]
R = TypeVar("R", bound=BaseModel)
logger = logging.getLogger("hunch.handlers")


def actor(ctx: Context) -> service.Actor:
    interaction = ctx.interaction
    if not interaction.guild_id:
        raise ValidationError("Hunch works inside a server. Use this command in one.")
    return service.Actor(
        guild_id=int(interaction.guild_id),
        user_id=int(interaction.actor.id),
        permissions=interaction.permissions,
        role_ids=frozenset(int(r) for r in interaction.role_ids if r.isdigit()),
        interaction_id=int(interaction.id) if interaction.id.isdigit() else None,
    )


async def run(
    ctx: Context,
    action: str,
    result_type: type[R],
    work: Callable[[UnitOfWork], Awaitable[R]],
) -> R:
    """A state-changing use case, applied once per interaction."""
    return await service.execute(ctx.hunch.database, actor(ctx), action, result_type, work, clock=ctx.hunch.clock)


async def read(ctx: Context, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    return await service.read(ctx.hunch.database, work, clock=ctx.hunch.clock)


def parse_market_number(value: Any) -> int | None:
    text = str(value if value is not None else "").strip().lstrip("#").strip()
    if text.isdigit() and len(text) < 10:
        return int(text)
    head = text.split("·", 1)[0].strip().lstrip("#").strip()
    return int(head) if head.isdigit() and len(head) < 10 else None


async def market_number(ctx: Context, value: Any) -> int:
    """The market a member picked: `12`, `#12`, or words that match exactly one open market."""
    number = parse_market_number(value)
    if number is not None:
        return number
    text = str(value or "").strip()
    if text:
        guild_id = actor(ctx).guild_id
        matches = await read(ctx, lambda uow: queries.search_markets(uow, guild_id, text, limit=2))
        if len(matches) == 1:
            return int(matches[0][0])
    raise NotFound("Pick a market from the list (start typing its number or question).")


async def check_rate(ctx: Context, kind: str) -> None:
    """Sliding-window limits per member and per guild; server managers are not limited."""
    who = actor(ctx)
    if who.is_admin:
        return
    settings = ctx.hunch.settings
    if kind == "trade":
        checks = [
            (
                f"trade:m:{who.guild_id}:{who.user_id}",
                Limit(settings.trade_rate_limit, settings.trade_rate_window_seconds),
            ),
            (
                f"trade:g:{who.guild_id}",
                Limit(settings.guild_trade_rate_limit, settings.guild_trade_rate_window_seconds),
            ),
        ]
    else:
        checks = [
            (
                f"create:m:{who.guild_id}:{who.user_id}",
                Limit(settings.market_create_rate_limit, settings.market_create_rate_window_seconds),
            )
        ]
    try:
        decision = await ctx.hunch.rate_limiter.hit_all(checks)  # all or nothing, in one round trip
    except Exception:
        # A limiter outage must not stop trading: fail open, loudly.
        logger.warning("rate limiter unavailable; allowing %s", ", ".join(key for key, _ in checks), exc_info=True)
        return
    if not decision.allowed:
        assert decision.retry_at is not None
        raise RateLimited("Slow down!", decision.retry_at)
