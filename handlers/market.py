"""`/market …`: create, show, list, close, resolve, resolve-weighted, cancel; the Refresh button;
and the market/outcome autocomplete every command shares."""

from __future__ import annotations

from typing import Any

from app.discord import responses
from app.discord.router import Context, Router
from app.domain import inputs
from app.errors import ValidationError
from app.services import markets as market_service
from app.services import queries
from app.services.views import MarketView, Settlement
from handlers import format as fmt
from handlers import views
from handlers.common import actor, check_rate, market_number, outcome_index, parse_market_number, read, run

Json = dict[str, Any]
STATUSES = ("open", "closed", "resolved", "cancelled", "all")


def market_message(market: MarketView, *, ephemeral: bool = False) -> Json:
    return responses.message(
        embeds=[views.market_embed(market)],
        components=views.market_components(market),
        ephemeral=ephemeral,
    )


async def create(ctx: Context) -> Json:
    who = actor(ctx)
    command = market_service.CreateMarket(
        question=inputs.clean_text(str(ctx.option("question") or ""), max_length=inputs.QUESTION_MAX, field="question"),
        outcomes=inputs.parse_outcomes(ctx.option("outcomes")),
        description=inputs.clean_description(str(ctx.option("description") or "")),
        closes_in=inputs.parse_duration(str(ctx.option("closes_in"))) if ctx.option("closes_in") else None,
        liquidity=int(ctx.option("liquidity")) if ctx.option("liquidity") is not None else None,
        channel_id=int(channel) if (channel := ctx.interaction.channel_id) and channel.isdigit() else None,
    )
    await check_rate(ctx, "create")
    market = await run(ctx, "market.create", MarketView, lambda uow: market_service.create_market(uow, who, command))
    return market_message(market)


async def show(ctx: Context) -> Json:
    who = actor(ctx)
    number = await market_number(ctx, ctx.option("market"))
    market = await read(ctx, lambda uow: queries.show_market(uow, who.guild_id, number))
    return market_message(market, ephemeral=True)


async def list_(ctx: Context) -> Json:
    who = actor(ctx)
    status = str(ctx.option("status") or "open").lower()
    if status not in STATUSES:
        status = "open"
    found = await read(ctx, lambda uow: queries.list_markets(uow, who.guild_id, status))
    if not found:
        return responses.ephemeral(
            f"No {'' if status == 'all' else status + ' '}markets yet. Start one with /market create."
        )
    lines = []
    for market in found:
        leader = max(range(len(market.outcomes)), key=lambda i: market.probabilities[i])
        lines.append(
            f"**#{market.number}** {fmt.truncate(market.question, 90)}\n"
            f"  {market.outcomes[leader]} {fmt.percent(market.probabilities[leader])} · "
            f"{fmt.points(market.volume, market.currency)} volume · {market.status}"
            + (f" · closes {fmt.timestamp(market.closes_at)}" if market.status == "open" else "")
        )
    title = "All markets" if status == "all" else f"{status.capitalize()} markets"
    embed = {"title": title, "description": fmt.truncate("\n".join(lines), 4096), "color": views.COLOR_OPEN}
    return responses.message(embeds=[embed], ephemeral=True)


async def close(ctx: Context) -> Json:
    who = actor(ctx)
    number = await market_number(ctx, ctx.option("market"))
    market = await run(ctx, "market.close", MarketView, lambda uow: market_service.close_market(uow, who, number))
    return responses.message(
        f"🔒 Market #{market.number} is closed to trading.",
        embeds=[views.market_embed(market)],
        components=views.market_components(market),
    )


def settlement_message(settlement: Settlement) -> Json:
    return responses.message(embeds=[views.settlement_embed(settlement)])


async def resolve(ctx: Context) -> Json:
    who = actor(ctx)
    number = await market_number(ctx, ctx.option("market"))
    market = await read(ctx, lambda uow: queries.show_market(uow, who.guild_id, number))
    outcome = outcome_index(market.outcomes, ctx.option("outcome"))
    settlement = await run(
        ctx, "market.resolve", Settlement, lambda uow: market_service.resolve_market(uow, who, number, outcome)
    )
    return settlement_message(settlement)


async def resolve_weighted(ctx: Context) -> Json:
    who = actor(ctx)
    number = await market_number(ctx, ctx.option("market"))
    market = await read(ctx, lambda uow: queries.show_market(uow, who.guild_id, number))
    weights = inputs.parse_weights(str(ctx.option("weights") or ""), market.outcomes)
    settlement = await run(
        ctx,
        "market.resolve_weighted",
        Settlement,
        lambda uow: market_service.resolve_market_weighted(uow, who, number, weights),
    )
    return settlement_message(settlement)


async def cancel(ctx: Context) -> Json:
    who = actor(ctx)
    number = await market_number(ctx, ctx.option("market"))
    reason = (
        inputs.clean_text(str(ctx.option("reason")), max_length=200, field="reason") if ctx.option("reason") else ""
    )
    settlement = await run(
        ctx, "market.cancel", Settlement, lambda uow: market_service.cancel_market(uow, who, number, reason)
    )
    return settlement_message(settlement)


async def refresh(ctx: Context) -> Json:
    who = actor(ctx)
    number = parse_market_number(ctx.path.partition(":")[2])
    if number is None:
        raise ValidationError("That button is out of date. Use /market show instead.")
    market = await read(ctx, lambda uow: queries.show_market(uow, who.guild_id, number))
    return responses.update(embeds=[views.market_embed(market)], components=views.market_components(market))


async def autocomplete_market(ctx: Context) -> Json:
    who = actor(ctx)
    text = str(ctx.option(ctx.focused or "market") or "")
    # Markets waiting for a resolution are closed: offer them wherever a market can still be settled.
    statuses = ("open",) if ctx.path in ("bet", "sell", "market close") else ("open", "closed")
    found = await read(ctx, lambda uow: queries.search_markets(uow, who.guild_id, text, statuses=statuses))
    return responses.autocomplete([(views.market_choice(n, q), str(n)) for n, q in found])


async def autocomplete_outcome(ctx: Context) -> Json:
    who = actor(ctx)
    try:
        number = await market_number(ctx, ctx.option("market"))
        market = await read(ctx, lambda uow: queries.show_market(uow, who.guild_id, number))
    except Exception:
        return responses.autocomplete([])
    typed = str(ctx.option("outcome") or "").strip().casefold()
    choices = [
        (f"{label} · {fmt.percent(p)}", label)
        for label, p in zip(market.outcomes, market.probabilities, strict=True)
        if typed in label.casefold()
    ]
    return responses.autocomplete(choices)


def register(router: Router) -> None:
    router.command("market create")(create)
    router.command("market show")(show)
    router.command("market list")(list_)
    router.command("market close")(close)
    router.command("market resolve")(resolve)
    router.command("market resolve-weighted")(resolve_weighted)
    router.command("market cancel")(cancel)
    router.component("refresh")(refresh)
    for path in (
        "market show",
        "market close",
        "market resolve",
        "market resolve-weighted",
        "market cancel",
        "bet",
        "sell",
    ):
        router.autocomplete(path, "market")(autocomplete_market)
    for path in ("market resolve", "bet", "sell"):
        router.autocomplete(path, "outcome")(autocomplete_outcome)
