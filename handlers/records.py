"""`/stats`, `/leaderboard [by] [season]` and `/admin season start`: forecasting records and seasons."""

from __future__ import annotations

from app.discord import responses
from app.discord.router import Context, Router
from app.domain.actor import require_manager
from app.domain.errors import ValidationError
from app.domain.records import RankBy
from handlers import options, wallet
from handlers.render import records as render
from models.discord.messages import InteractionResponse

BOARD_SIZE = wallet.LEADERBOARD_SIZE


async def stats(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    user_id = options.member(ctx) or who.user_id
    return render.stats(await ctx.use_cases.stats(who.guild_id, user_id), user_id == who.user_id)


def _rank_by(ctx: Context) -> RankBy:
    typed = options.string(ctx, "by")
    if typed is None:
        return RankBy.BALANCE
    try:
        return RankBy(typed.strip().lower())
    except ValueError:
        raise ValidationError("Rank by balance, profit or accuracy.") from None


async def leaderboard(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    by = _rank_by(ctx)
    season = options.string(ctx, "season")
    if season is not None and season.strip():
        if by is not RankBy.BALANCE:
            raise ValidationError("A past season's final standings are by balance. Leave out `by`.")
        return render.season_board(await ctx.use_cases.season_standings(who.guild_id, season, BOARD_SIZE))
    if by is RankBy.BALANCE:
        return await wallet.leaderboard(ctx)
    return render.record_board(await ctx.use_cases.ranked_by(who.guild_id, by, BOARD_SIZE))


async def season_autocomplete(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    names = await ctx.use_cases.search_seasons(who.guild_id, options.string(ctx, "season") or "")
    return responses.autocomplete([(name, name) for name in names])


async def start_season(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    require_manager(who)
    started = await ctx.use_cases.start_season(who, options.string(ctx, "name"), BOARD_SIZE, options.followup(ctx))
    return render.season_start(started)


def register(router: Router) -> None:
    router.command("stats")(stats)
    router.command("leaderboard")(leaderboard)
    router.command("admin season start")(start_season)
    router.autocomplete("leaderboard", "season")(season_autocomplete)
