"""Autocomplete of the `market` and `outcome` options every command shares."""

from __future__ import annotations

import logging

from app.discord import responses
from app.discord.router import Context, Router
from app.domain.errors import HunchError
from app.domain.inputs import outcome_key
from app.domain.market import MarketStatus
from handlers import options
from handlers.render import format as fmt
from handlers.render.market import market_choice
from models.discord.messages import InteractionResponse

logger = logging.getLogger("hunch.handlers")

# Markets waiting for a resolution are closed: offer them wherever a market can still be settled.
_TRADING_PATHS = ("bet", "sell", "market close", "market subsidize")
_SETTLED_PATHS = ("market unresolve",)
# A chart is worth seeing at any point of a market's life, settled markets too.
_ANY_STATUS_PATHS = ("market chart",)
_MARKET_PATHS = (
    "market show",
    "market chart",
    "market close",
    "market resolve",
    "market resolve-weighted",
    "market cancel",
    "market unresolve",
    "market subsidize",
    "bet",
    "sell",
)
_OUTCOME_PATHS = ("market resolve", "bet", "sell")


async def market(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    typed = options.string(ctx, ctx.focused or "market") or ""
    statuses: tuple[MarketStatus, ...] = (MarketStatus.OPEN, MarketStatus.CLOSED)
    if ctx.path in _TRADING_PATHS:
        statuses = (MarketStatus.OPEN,)
    elif ctx.path in _SETTLED_PATHS:
        statuses = (MarketStatus.RESOLVED, MarketStatus.CANCELLED)
    elif ctx.path in _ANY_STATUS_PATHS:
        statuses = tuple(MarketStatus)
    found = await ctx.use_cases.search_markets(who.guild_id, typed, statuses)
    return responses.autocomplete([(market_choice(n, q), str(n)) for n, q in found])


async def outcome(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    try:
        number = await options.market_number(ctx, ctx.option("market"), (MarketStatus.OPEN, MarketStatus.CLOSED))
        shown = await ctx.use_cases.show_market(who.guild_id, number)
    except HunchError as error:  # no market picked yet, or none by that name: nothing to offer
        logger.debug("no outcomes to offer: %s", error.message)
        return responses.autocomplete([])
    typed = outcome_key(options.string(ctx, "outcome") or "")
    return responses.autocomplete(
        [
            (f"{label} · {fmt.percent(p)}", label)
            for label, p in zip(shown.outcomes, shown.probabilities, strict=True)
            if typed in outcome_key(label)
        ]
    )


def register(router: Router) -> None:
    for path in _MARKET_PATHS:
        router.autocomplete(path, "market")(market)
    for path in _OUTCOME_PATHS:
        router.autocomplete(path, "outcome")(outcome)
