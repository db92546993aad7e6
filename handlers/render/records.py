"""Forecasting records, the leaderboards by profit and accuracy, and seasons, as members read them."""

from __future__ import annotations

from app.discord import responses
from app.domain.records import RankBy
from app.services.record_results import RecordBoard, SeasonBoard, SeasonStart, SeasonStartDeferred, StatsView
from handlers.render import format as fmt
from handlers.render.style import BLURPLE, DESCRIPTION_LIMIT, GREEN
from handlers.render.wallet import MEDALS
from models.discord.enums import InteractionCallbackType
from models.discord.messages import Embed, InteractionResponse, MessageData


def _rank(rank: int) -> str:
    return MEDALS.get(rank, f"**{rank}.**")


def stats(view: StatsView, own: bool) -> InteractionResponse:
    currency = view.currency
    roi = f" · ROI **{fmt.signed_percent(view.roi)}**" if view.roi is not None else ""
    if view.brier is None:
        brier = "no resolved market to score yet"
    else:
        brier = f"**{fmt.brier(view.brier)}** over {view.scored:,} resolved market(s) (0 is perfect, 2 the worst)"
    lines = [
        f"Markets traded: **{view.markets_traded:,}**",
        f"Resolved markets: **{view.resolved:,}** · won **{view.won:,}**",
        f"Realised profit: **{fmt.signed_points(view.profit, currency)}**{roi}",
        f"Brier score: {brier}",
    ]
    if view.scored < view.accuracy_minimum:
        lines.append(f"Ranked by accuracy from {view.accuracy_minimum} resolved markets.")
    heading = "" if own else f"<@{view.user_id}>\n"
    embed: Embed = {
        "title": "Your forecasting record" if own else "Forecasting record",
        "description": fmt.truncate(heading + "\n".join(lines), DESCRIPTION_LIMIT),
        "color": BLURPLE,
    }
    return responses.message(embeds=[embed], ephemeral=True)


def record_board(board: RecordBoard) -> InteractionResponse:
    lines = []
    for rank, entry in enumerate(board.entries, start=1):
        if board.by is RankBy.PROFIT and entry.profit is not None:
            shown = f"**{fmt.signed_points(entry.profit, board.currency)}**"
        elif entry.brier is not None:
            shown = f"Brier **{fmt.brier(entry.brier)}** over {entry.scored:,} markets"
        else:
            continue
        lines.append(f"{_rank(rank)} <@{entry.user_id}>: {shown}")
    if board.by is RankBy.PROFIT:
        title, empty = "Leaderboard by realised profit", "No market has resolved yet."
    else:
        title = "Leaderboard by accuracy"
        empty = f"Nobody has a Brier score over {board.accuracy_minimum} resolved markets yet."
    footer = "Lowest mean Brier score first." if board.by is RankBy.ACCURACY else "Over every resolved market."
    if not lines:
        return responses.message(empty)
    embed: Embed = {
        "title": title,
        "description": fmt.truncate("\n".join(lines), DESCRIPTION_LIMIT),
        "footer": {"text": footer},
        "color": GREEN,
    }
    return responses.message(embeds=[embed])


def _standings(board: SeasonBoard) -> list[str]:
    return [
        f"{_rank(rank)} <@{entry.user_id}>: **{fmt.points(entry.balance, board.currency)}**"
        for rank, entry in enumerate(board.entries, start=1)
    ]


def season_board(board: SeasonBoard) -> InteractionResponse:
    lines = _standings(board) or ["Nobody played that season."]
    embed: Embed = {
        "title": fmt.truncate(f"{board.name}: final standings", 256),
        "description": fmt.truncate(
            f"{fmt.timestamp(board.started_at, 'D')} to {fmt.timestamp(board.ended_at, 'D')}\n" + "\n".join(lines),
            DESCRIPTION_LIMIT,
        ),
        "color": GREEN,
    }
    return responses.message(embeds=[embed])


def season_start(started: SeasonStart | SeasonStartDeferred) -> InteractionResponse:
    if isinstance(started, SeasonStartDeferred):
        return responses.deferred()
    return {"type": InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE, "data": season_start_data(started)}


def season_start_data(started: SeasonStart) -> MessageData:
    """The public summary of a season start: the standings of the season that ended, and the reset."""
    lines = _standings(started.ended) or ["Nobody played that season."]
    text = (
        f"🏁 **{started.ended.name}** is over. Final standings:\n"
        + "\n".join(lines)
        + f"\n\n🚀 **{started.name}** starts now: {started.members_reset:,} member balance(s) are back to "
        f"**{fmt.points(started.starting_balance, started.currency)}**. Open positions carry over."
    )
    embed: Embed = {
        "title": fmt.truncate(f"{started.name} begins", 256),
        "description": fmt.truncate(text, DESCRIPTION_LIMIT),
        "color": GREEN,
    }
    return responses.message_data(embeds=[embed])
