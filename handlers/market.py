"""`/market …`: create, show, chart, list, close, resolve, resolve-weighted, cancel, unresolve, subsidize;
and the Refresh button."""

from __future__ import annotations

import asyncio

from app.discord import responses
from app.discord.custom_ids import decode
from app.discord.router import Context, Router
from app.domain import inputs, limits
from app.domain.market import MarketStatus
from app.domain.price_history import DEFAULT_PERIOD, ChartPeriod
from app.services.markets import CreateMarket
from app.services.results import SettlementDeferred
from handlers import options
from handlers.definitions import LIST_ALL, LIST_FILTERS
from handlers.render.chart import chart_reply, charted
from handlers.render.market import market_list, market_message, market_update
from handlers.render.settlement import settlement_reply
from handlers.render.unresolve import subsidy_text, unresolved_data
from models.discord.enums import InteractionCallbackType
from models.discord.messages import InteractionResponse

SETTLEABLE = (MarketStatus.OPEN, MarketStatus.CLOSED)
SETTLED = (MarketStatus.RESOLVED, MarketStatus.CANCELLED)


async def create(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    closes_in = options.string(ctx, "closes_in")
    channel = ctx.interaction.channel_id
    command = CreateMarket(
        question=inputs.clean_text(
            options.string(ctx, "question") or "", max_length=limits.QUESTION_MAX, field="question"
        ),
        outcomes=inputs.parse_outcomes(options.string(ctx, "outcomes")),
        description=inputs.clean_description(options.string(ctx, "description") or ""),
        closes_in=inputs.parse_duration(closes_in) if closes_in else None,
        liquidity=options.integer(ctx, "liquidity"),
        channel_id=int(channel) if channel else None,
        followup=options.followup(ctx),
    )
    return market_message(await ctx.use_cases.create_market(who, command))


async def show(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"))
    return market_message(await ctx.use_cases.show_market(who.guild_id, number), ephemeral=True)


async def chart(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"), tuple(MarketStatus))
    period = (options.string(ctx, "period") or DEFAULT_PERIOD).lower()
    chosen = ChartPeriod(period) if period in set(ChartPeriod) else DEFAULT_PERIOD
    chart = await ctx.use_cases.price_chart(who.guild_id, number, chosen)
    return await asyncio.to_thread(chart_reply, chart)  # drawing is CPU work: the event loop serves others


async def list_(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    status = (options.string(ctx, "status") or MarketStatus.OPEN).lower()
    if status not in LIST_FILTERS:
        status = MarketStatus.OPEN
    found = await ctx.use_cases.list_markets(who.guild_id, None if status == LIST_ALL else MarketStatus(status))
    return market_list(found, status)


async def close(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"))
    market = await ctx.use_cases.close_market(who, number)
    return market_message(market, content=f"🔒 Market #{market.number} is closed to trading.")


async def resolve(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"), SETTLEABLE)
    outcome = options.string(ctx, "outcome") or ""
    return settlement_reply(await ctx.use_cases.resolve_market(who, number, outcome, options.followup(ctx)))


async def resolve_weighted(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"), SETTLEABLE)
    weights = options.string(ctx, "weights") or ""
    return settlement_reply(await ctx.use_cases.resolve_market_weighted(who, number, weights, options.followup(ctx)))


async def cancel(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"), SETTLEABLE)
    reason = options.text(ctx, "reason", max_length=limits.REASON_MAX, field="reason")
    return settlement_reply(await ctx.use_cases.cancel_market(who, number, reason, options.followup(ctx)))


async def unresolve(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"), SETTLED)
    reason = options.text(ctx, "reason", max_length=limits.REASON_MAX, field="reason")
    unresolved = await ctx.use_cases.unresolve_market(who, number, reason, options.followup(ctx))
    if isinstance(unresolved, SettlementDeferred):
        return responses.deferred()
    return {"type": InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE, "data": unresolved_data(unresolved)}


async def subsidize(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = await options.market_number(ctx, ctx.option("market"))
    amount = options.required_points(ctx.option("amount"))
    receipt = await ctx.use_cases.subsidize_market(who, number, amount)
    return market_message(receipt.market, content=subsidy_text(receipt), ephemeral=True)


async def refresh(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    number = decode(ctx.path, "That button is out of date. Use /market show instead.").market
    chart = await ctx.use_cases.price_chart(who.guild_id, number, ChartPeriod.ALL)
    return await asyncio.to_thread(charted, market_update(chart.market), chart)


def register(router: Router) -> None:
    router.command("market create")(create)
    router.command("market show")(show)
    router.command("market chart")(chart)
    router.command("market list")(list_)
    router.command("market close")(close)
    router.command("market resolve")(resolve)
    router.command("market resolve-weighted")(resolve_weighted)
    router.command("market cancel")(cancel)
    router.command("market unresolve")(unresolve)
    router.command("market subsidize")(subsidize)
    router.component("refresh")(refresh)
