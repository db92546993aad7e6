"""`/bet`, `/sell`, and trading from a market message: Buy buttons open an amount form, Sell lists holdings."""

from __future__ import annotations

from app.discord.custom_ids import decode
from app.discord.router import Context, Router
from app.domain.errors import ValidationError
from app.domain.market import MarketStatus
from handlers import options
from handlers.render.trades import (
    AMOUNT_FIELD,
    SHARES_FIELD,
    buy_form,
    holdings_to_sell,
    sell_form,
    trade_receipt,
)
from models.discord.messages import InteractionResponse

STALE_BET = "That button is out of date. Use /bet instead."
STALE_SELL = "That button is out of date. Use /sell instead."


async def bet(ctx: Context) -> InteractionResponse:
    amount = options.points(ctx.option("amount"), allow_all=True)
    number = await options.market_number(ctx, ctx.option("market"))
    # The label is matched to an outcome inside the trade's transaction: no extra read first.
    outcome = options.string(ctx, "outcome") or ""
    return trade_receipt(await ctx.use_cases.buy(options.actor(ctx), number, outcome, amount))


async def sell(ctx: Context) -> InteractionResponse:
    shares = options.shares(ctx.option("shares"))
    number = await options.market_number(ctx, ctx.option("market"))
    outcome = options.string(ctx, "outcome") or ""
    return trade_receipt(await ctx.use_cases.sell(options.actor(ctx), number, outcome, shares))


async def buy_button(ctx: Context) -> InteractionResponse:
    ref = decode(ctx.path, STALE_BET)
    who = options.actor(ctx)
    market = await ctx.use_cases.show_market(who.guild_id, ref.market)
    if market.status != MarketStatus.OPEN:
        raise ValidationError(f"Market #{ref.market} is {market.status}; trading has stopped.")
    outcome = ref.outcome or 0
    if not outcome < len(market.outcomes):
        raise ValidationError(STALE_BET)
    return buy_form(ref.market, outcome, market.outcomes[outcome], market.probabilities[outcome])


async def buy_modal(ctx: Context) -> InteractionResponse:
    ref = decode(ctx.path, STALE_BET)
    amount = options.points(ctx.modal_values().get(AMOUNT_FIELD, ""), allow_all=True)
    return trade_receipt(await ctx.use_cases.buy(options.actor(ctx), ref.market, ref.outcome or 0, amount))


async def sell_button(ctx: Context) -> InteractionResponse:
    ref = decode(ctx.path, STALE_SELL)
    who = options.actor(ctx)
    holdings = await ctx.use_cases.portfolio(who.guild_id, who.user_id)
    held = [p for p in holdings.positions if p.market_number == ref.market and p.shares > 0]
    return holdings_to_sell(ref.market, held, holdings)


async def sell_pick(ctx: Context) -> InteractionResponse:
    ref = decode(ctx.path, STALE_SELL)
    market = await ctx.use_cases.show_market(options.actor(ctx).guild_id, ref.market)
    outcome = ref.outcome or 0
    if not outcome < len(market.outcomes):
        raise ValidationError(STALE_SELL)
    return sell_form(ref.market, outcome, market.outcomes[outcome])


async def sell_modal(ctx: Context) -> InteractionResponse:
    ref = decode(ctx.path, STALE_SELL)
    shares = options.shares(ctx.modal_values().get(SHARES_FIELD, "all"))
    return trade_receipt(await ctx.use_cases.sell(options.actor(ctx), ref.market, ref.outcome or 0, shares))


def register(router: Router) -> None:
    router.command("bet")(bet)
    router.command("sell")(sell)
    router.component("buy")(buy_button)
    router.modal("buymodal")(buy_modal)
    router.component("sell")(sell_button)
    router.component("sellpick")(sell_pick)
    router.modal("sellmodal")(sell_modal)
