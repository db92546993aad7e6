"""`/bet`, `/sell`, and trading from a market message: Buy buttons open an amount modal, Sell lists holdings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.discord import responses
from app.discord.router import Context, Router
from app.domain import inputs
from app.errors import ValidationError
from app.services import queries
from handlers import format as fmt
from handlers import views
from handlers.common import actor, check_rate, market_number, read

Json = dict[str, Any]
AMOUNT_FIELD = "amount"
SHARES_FIELD = "shares"


def _amount(value: Any) -> int | None:
    """Whole points; `None` means "all" (the service caps it at the balance and the maximum stake)."""
    if isinstance(value, bool):
        raise ValidationError("Enter a whole number of points.")
    if isinstance(value, int):
        if value < 1:
            raise ValidationError("The amount must be at least 1.")
        return value
    text = str(value if value is not None else "")
    if text.strip().casefold() == "all":
        return None
    return inputs.parse_amount(text)


def _shares(value: Any) -> Decimal | None:
    if value is None:
        return None
    text = str(value).strip()
    if text.casefold() in ("", "all"):
        return None
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
    return inputs.parse_shares(text)


async def _buy(ctx: Context, number: int, outcome: int | str, amount: int | None) -> Json:
    who = actor(ctx)
    await check_rate(ctx, "trade")
    receipt = await ctx.hunch.trading_desk.buy(who, number, outcome, amount)
    return responses.ephemeral(views.trade_receipt(receipt))


async def _sell(ctx: Context, number: int, outcome: int | str, shares: Decimal | None) -> Json:
    who = actor(ctx)
    await check_rate(ctx, "trade")
    receipt = await ctx.hunch.trading_desk.sell(who, number, outcome, shares)
    return responses.ephemeral(views.trade_receipt(receipt))


async def _market(ctx: Context, number: int) -> Any:
    guild_id = actor(ctx).guild_id
    return await read(ctx, lambda uow: queries.show_market(uow, guild_id, number))


async def bet(ctx: Context) -> Json:
    amount = _amount(ctx.option("amount"))
    number = await market_number(ctx, ctx.option("market"))
    # The label is matched to an outcome inside the trade's transaction: no extra read first.
    return await _buy(ctx, number, str(ctx.option("outcome") or ""), amount)


async def sell(ctx: Context) -> Json:
    shares = _shares(ctx.option("shares"))
    number = await market_number(ctx, ctx.option("market"))
    return await _sell(ctx, number, str(ctx.option("outcome") or ""), shares)


def _ids(custom_id: str) -> tuple[int, int]:
    parts = custom_id.split(":")
    try:
        return int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        raise ValidationError("That button is out of date. Use /bet instead.") from None


async def buy_button(ctx: Context) -> Json:
    number, outcome = _ids(ctx.path)
    actor(ctx)
    market = await _market(ctx, number)
    if market.status != "open":
        raise ValidationError(f"Market #{number} is {market.status}; trading has stopped.")
    if not 0 <= outcome < len(market.outcomes):
        raise ValidationError("That button is out of date. Use /bet instead.")
    label = market.outcomes[outcome]
    return responses.modal(
        f"buymodal:{number}:{outcome}",
        f"Buy {label}",
        [
            responses.text_input(
                AMOUNT_FIELD,
                f"Points to stake on {label} ({fmt.percent(market.probabilities[outcome])} now)",
                placeholder="e.g. 100, 1,000, 1k or all",
                max_length=20,
            )
        ],
    )


async def buy_modal(ctx: Context) -> Json:
    number, outcome = _ids(ctx.path)
    amount = _amount(ctx.interaction.modal.values().get(AMOUNT_FIELD, ""))
    return await _buy(ctx, number, outcome, amount)


async def sell_button(ctx: Context) -> Json:
    who = actor(ctx)
    number = int(ctx.path.split(":")[1]) if ctx.path.split(":")[1:2] and ctx.path.split(":")[1].isdigit() else 0
    holdings = await read(ctx, lambda uow: queries.portfolio(uow, who.guild_id, who.user_id))
    held = [p for p in holdings.positions if p.market_number == number and p.shares > 0]
    if not held:
        return responses.ephemeral(f"You hold no shares in market #{number}.")
    lines = [
        f"**{p.outcome_label}**: {fmt.shares(p.shares)} (worth about {fmt.points(p.value, holdings.currency)})"
        for p in held
    ]
    buttons = [
        {
            "type": 2,
            "style": 4,
            "label": fmt.truncate(f"Sell {p.outcome_label}", 80),
            "custom_id": f"sellpick:{number}:{p.outcome}",
        }
        for p in held
    ]
    rows = [{"type": 1, "components": buttons[i : i + 5]} for i in range(0, len(buttons), 5)]
    return responses.ephemeral(f"Your shares in #{number}:\n" + "\n".join(lines), components=rows)


async def sell_pick(ctx: Context) -> Json:
    number, outcome = _ids(ctx.path)
    market = await _market(ctx, number)
    if not 0 <= outcome < len(market.outcomes):
        raise ValidationError("That button is out of date. Use /sell instead.")
    return responses.modal(
        f"sellmodal:{number}:{outcome}",
        f"Sell {market.outcomes[outcome]}",
        [
            responses.text_input(
                SHARES_FIELD, "Shares to sell (or all)", placeholder="e.g. 10, 2.5 or all", value="all", max_length=20
            )
        ],
    )


async def sell_modal(ctx: Context) -> Json:
    number, outcome = _ids(ctx.path)
    shares = _shares(ctx.interaction.modal.values().get(SHARES_FIELD, "all"))
    return await _sell(ctx, number, outcome, shares)


def register(router: Router) -> None:
    router.command("bet")(bet)
    router.command("sell")(sell)
    router.component("buy")(buy_button)
    router.modal("buymodal")(buy_modal)
    router.component("sell")(sell_button)
    router.component("sellpick")(sell_pick)
    router.modal("sellmodal")(sell_modal)
