"""`/balance`, `/portfolio`, `/leaderboard`, `/daily`, `/give`."""

from __future__ import annotations

from app.discord.router import Context, Router
from app.domain.errors import ValidationError
from handlers import options
from handlers.render import wallet as render
from models.discord.messages import InteractionResponse

LEADERBOARD_SIZE = 10


async def balance(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    user_id = options.member(ctx) or who.user_id
    view = await ctx.use_cases.balance(who.guild_id, user_id)
    return render.balance(user_id, user_id == who.user_id, view.balance, view.currency)


async def portfolio(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    user_id = options.member(ctx) or who.user_id
    return render.portfolio(await ctx.use_cases.portfolio(who.guild_id, user_id), user_id == who.user_id)


async def leaderboard(ctx: Context) -> InteractionResponse:
    """`/leaderboard` by balance (routed through `handlers.records`, which reads its other options)."""
    who = options.actor(ctx)
    board = await ctx.use_cases.leaderboard(who.guild_id, LEADERBOARD_SIZE)
    return render.leaderboard(board, who.user_id, ctx.interaction.actor.display_name)


async def daily(ctx: Context) -> InteractionResponse:
    return render.daily(await ctx.use_cases.claim_daily(options.actor(ctx)))


async def give(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    to_user = options.member(ctx)
    if to_user is None:
        raise ValidationError("Pick a member to give points to.")
    amount = options.required_points(ctx.option("amount"))
    return render.gift(await ctx.use_cases.give(who, to_user, amount))


def register(router: Router) -> None:
    router.command("balance")(balance)
    router.command("portfolio")(portfolio)
    router.command("daily")(daily)
    router.command("give")(give)
