"""`/balance`, `/portfolio`, `/leaderboard`, `/daily`, `/give`."""

from __future__ import annotations

from typing import Any

from app.discord import responses
from app.discord.router import Context, Router
from app.errors import ValidationError
from app.services import queries, wallet
from app.services.views import DailyClaim, GiftReceipt
from handlers import format as fmt
from handlers import views
from handlers.common import actor, read, run

Json = dict[str, Any]
LEADERBOARD_SIZE = 10


def _user_option(ctx: Context, name: str = "user") -> int | None:
    value = ctx.option(name)
    if value is None:
        return None
    text = str(value)
    if not text.isdigit():
        raise ValidationError("Pick a member from the list.")
    resolved = ctx.interaction.command.resolved
    if resolved is not None and text in resolved.users and resolved.users[text].bot:
        raise ValidationError("Bots don't play Hunch.")
    return int(text)


def _amount(ctx: Context) -> int:
    value = ctx.option("amount")
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise ValidationError("The amount must be a whole number of points.") from None
    if value < 1:
        raise ValidationError("The amount must be at least 1.")
    return value


async def balance(ctx: Context) -> Json:
    who = actor(ctx)
    user_id = _user_option(ctx) or who.user_id
    view = await read(ctx, lambda uow: queries.balance(uow, who.guild_id, user_id))
    whose = "Your balance" if user_id == who.user_id else f"<@{user_id}>'s balance"
    return responses.ephemeral(f"{whose}: **{fmt.points(view.balance, view.currency)}**")


async def portfolio(ctx: Context) -> Json:
    who = actor(ctx)
    user_id = _user_option(ctx) or who.user_id
    view = await read(ctx, lambda uow: queries.portfolio(uow, who.guild_id, user_id))
    whose = "Your portfolio" if user_id == who.user_id else "Portfolio"
    lines = [f"Cash: **{fmt.points(view.balance, view.currency)}**"]
    total_value = 0
    for p in view.positions[:20]:
        total_value += p.value
        lines.append(
            f"**#{p.market_number}** {fmt.truncate(p.question, 60)} · **{fmt.truncate(p.outcome_label, 40)}**\n"
            f"  {fmt.shares(p.shares)} · worth {fmt.points(p.value, view.currency)} · "
            f"P/L {fmt.signed_points(p.profit, view.currency)}"
        )
    if not view.positions:
        lines.append("No open positions. Try /market list and /bet.")
    else:
        lines.append(f"Positions worth **{fmt.points(total_value, view.currency)}** if sold now.")
    embed = {
        "title": whose,
        "description": fmt.truncate((f"<@{user_id}>\n" if user_id != who.user_id else "") + "\n".join(lines), 4096),
        "color": views.COLOR_OPEN,
    }
    return responses.message(embeds=[embed], ephemeral=True)


async def leaderboard(ctx: Context) -> Json:
    who = actor(ctx)
    board = await read(ctx, lambda uow: queries.leaderboard(uow, who.guild_id, LEADERBOARD_SIZE))
    if not board.entries:
        return responses.message("Nobody has played yet. Be the first: /daily, then /bet.")
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    lines = []
    for rank, entry in enumerate(board.entries, start=1):
        name = ctx.interaction.actor.display_name if entry.user_id == who.user_id else None
        mention = f"<@{entry.user_id}>" + (f" ({name})" if name else "")
        lines.append(f"{medals.get(rank, f'**{rank}.**')} {mention}: **{fmt.points(entry.balance, board.currency)}**")
    embed = {"title": "Leaderboard", "description": "\n".join(lines), "color": views.COLOR_RESOLVED}
    return responses.message(embeds=[embed])


async def daily(ctx: Context) -> Json:
    who = actor(ctx)
    claim = await run(ctx, "wallet.daily", DailyClaim, lambda uow: wallet.claim_daily(uow, who))
    if not claim.claimed:
        return responses.ephemeral(
            f"You already claimed today's bonus. The next one opens {fmt.timestamp(claim.next_claim_at)} "
            f"({fmt.timestamp(claim.next_claim_at, 'f')})."
        )
    return responses.ephemeral(
        f"🎁 You claimed **{fmt.points(claim.amount, claim.currency)}**. "
        f"Balance: **{fmt.points(claim.balance, claim.currency)}**. Come back {fmt.timestamp(claim.next_claim_at)}."
    )


async def give(ctx: Context) -> Json:
    who = actor(ctx)
    to_user = _user_option(ctx)
    if to_user is None:
        raise ValidationError("Pick a member to give points to.")
    amount = _amount(ctx)
    receipt = await run(ctx, "wallet.give", GiftReceipt, lambda uow: wallet.give(uow, who, to_user, amount))
    return responses.ephemeral(
        f"💸 You gave **{fmt.points(receipt.amount, receipt.currency)}** to <@{receipt.to_user_id}>. "
        f"Your balance: **{fmt.points(receipt.balance, receipt.currency)}**."
    )


def register(router: Router) -> None:
    router.command("balance")(balance)
    router.command("portfolio")(portfolio)
    router.command("leaderboard")(leaderboard)
    router.command("daily")(daily)
    router.command("give")(give)
