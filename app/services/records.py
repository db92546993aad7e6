"""Forecasting records: each member's result in each market as it resolves, `/stats` and the leaderboards by
realised profit and by accuracy (Brier score).

Results are written by the settlement in the same transaction (`record_resolution`), one row per holder, and
summed into each member's record as they are written, so every read is an index look-up. A resolution undone
takes its results back out (`uow.scores.unsettle`): the records stay the sum of the results.
"""

from __future__ import annotations

from app.domain import limits
from app.domain.guild import DEFAULTS, GuildSettings
from app.domain.market import Market, Resolution
from app.domain.records import RankBy, brier_scores, mean_brier, resolved_vector
from app.services.ports import UnitOfWork
from app.services.record_results import RecordBoard, RecordEntry, StatsView
from app.services.rows import Holding


async def record_resolution(
    uow: UnitOfWork, market: Market, holdings: list[Holding], payouts: dict[int, int], resolution: Resolution
) -> None:
    """Stage each holder's result in a resolved market (a cancelled one leaves no record), written as sets."""
    happened = resolved_vector(resolution, len(market.outcomes))
    if happened is None or not holdings:
        return
    scores = brier_scores(await uow.scores.last_prices(market.id), happened)
    uow.scores.settle(market.guild_id, market.id, holdings, payouts, scores)


async def stats(uow: UnitOfWork, guild_id: int, user_id: int) -> StatsView:
    guild = await settings_of(uow, guild_id)
    member = await uow.accounts.member(guild_id, user_id)
    record = await uow.scores.record(member.id) if member is not None else None
    return StatsView(
        user_id=user_id,
        currency=guild.currency_name,
        markets_traded=record.markets_traded if record else 0,
        resolved=record.resolved if record else 0,
        won=record.won if record else 0,
        staked=record.staked if record else 0,
        profit=record.profit if record else 0,
        roi=record.roi if record else None,
        brier=record.brier if record else None,
        scored=record.scored if record else 0,
        accuracy_minimum=limits.ACCURACY_MIN_MARKETS,
    )


async def ranked_by(uow: UnitOfWork, guild_id: int, by: RankBy, limit: int) -> RecordBoard:
    """The members with the most realised profit, or the lowest mean Brier score among those whose score
    rests on at least `ACCURACY_MIN_MARKETS` resolved markets."""
    guild = await settings_of(uow, guild_id)
    if by is RankBy.PROFIT:
        entries = [RecordEntry(user_id=u, profit=p) for u, p in await uow.scores.top_profit(guild_id, limit)]
    elif by is RankBy.ACCURACY:
        entries = [
            RecordEntry(user_id=u, brier=mean_brier(total, scored), scored=scored)
            for u, total, scored in await uow.scores.top_accuracy(guild_id, limit)
        ]
    else:
        raise ValueError(f"{by} is not a record")
    return RecordBoard(
        by=by, entries=entries, currency=guild.currency_name, accuracy_minimum=limits.ACCURACY_MIN_MARKETS
    )


async def settings_of(uow: UnitOfWork, guild_id: int) -> GuildSettings:
    return await uow.guilds.find(guild_id) or DEFAULTS
