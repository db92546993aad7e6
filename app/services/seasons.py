"""Seasons: `/admin season start` ends the season in play, keeps its final standings, and brings every
member's balance back to the starting balance through transfers with the house; `/leaderboard season:`
reads a finished season's standings.

Open positions are carried into the new season untouched: shares are not points, so nothing about them is
reset, and whatever they pay when their markets settle arrives in the new season's balances. The reset is a
bounded number of statements however many members the server has (a set of transfers, two updates); on a
server with as many members as would not fit Discord's deadline, the start is acknowledged and the worker
does it (`request_season_start`, `consumers/seasons.py`).
"""

from __future__ import annotations

from app.domain.actor import Actor, require_manager
from app.domain.audit import AuditAction
from app.domain.errors import Conflict, NotFound
from app.domain.events import SeasonStarted, SeasonStartRequested
from app.domain.inputs.text import clean_line
from app.domain.seasons import Season, name_key, season_name
from app.services.ports import UnitOfWork
from app.services.record_results import SeasonBoard, SeasonStart, SeasonStartDeferred
from app.services.records import settings_of
from app.services.results import LeaderboardEntry
from app.services.rows import Followup

SEARCH_LIMIT = 25


async def _next(uow: UnitOfWork, actor: Actor, name: str | None) -> tuple[Season, int, str]:
    """The season that ends, and the number and name of the next, checked."""
    require_manager(actor)
    ending = await uow.seasons.current(actor.guild_id)
    number = ending.number + 1
    new_name = season_name(name, number)
    key = name_key(new_name)
    if key == name_key(ending.name) or await uow.seasons.name_taken(actor.guild_id, key):
        raise Conflict(f"This server already has a season called {new_name}. Pick another name.")
    return ending, number, new_name


async def member_count(uow: UnitOfWork, guild_id: int) -> int:
    return await uow.seasons.member_count(guild_id)


async def request_season_start(
    uow: UnitOfWork, actor: Actor, name: str | None, followup: Followup
) -> SeasonStartDeferred:
    """Acknowledge a season start the worker will do (`SeasonStartRequested`), after the same checks."""
    await uow.guilds.get(actor.guild_id)
    await _next(uow, actor, name)
    await uow.messages.keep(followup)
    uow.events.record(
        actor,
        SeasonStartRequested(
            actor.guild_id,
            name=name or "",
            user_id=actor.user_id,
            is_manager=actor.is_manager,
            channel_id=actor.channel_id,
        ),
    )
    return SeasonStartDeferred(members=await uow.seasons.member_count(actor.guild_id))


async def start_season(uow: UnitOfWork, actor: Actor, name: str | None, shown: int) -> SeasonStart:
    require_manager(actor)
    guild = await uow.guilds.get(actor.guild_id)
    house = await uow.accounts.house(actor.guild_id, lock=True)  # one season start at a time per server
    ending, number, new_name = await _next(uow, actor, name)
    members = await uow.seasons.lock_members(actor.guild_id)
    season_id = await uow.seasons.end(actor.guild_id, ending, uow.now, actor.user_id)
    uow.seasons.snapshot(actor.guild_id, season_id)
    uow.ledger.reset_members(actor, house, guild.starting_balance)
    await uow.seasons.begin(actor.guild_id, number, new_name, uow.now)
    started = SeasonStarted(
        actor.guild_id,
        number=number,
        name=new_name,
        ended_number=ending.number,
        ended_name=ending.name,
        members_reset=members,
        starting_balance=guild.starting_balance,
    )
    uow.ledger.audit(actor, AuditAction.SEASON_START, **started.payload())
    uow.events.record(actor, started)
    await uow.flush()
    ended = Season(season_id, ending.number, ending.name, ending.started_at, uow.now)
    return SeasonStart(
        ended=await _board(uow, ended, guild.currency_name, shown),
        number=number,
        name=new_name,
        members_reset=members,
        starting_balance=guild.starting_balance,
        currency=guild.currency_name,
    )


async def season_standings(uow: UnitOfWork, guild_id: int, name: str, shown: int) -> SeasonBoard:
    guild = await settings_of(uow, guild_id)
    season = await uow.seasons.find_ended(guild_id, name_key(name))
    if season is None:
        raise NotFound(f"No finished season here is called {clean_line(name)[:40]}. Pick one from the list.")
    return await _board(uow, season, guild.currency_name, shown)


async def search_seasons(uow: UnitOfWork, guild_id: int, typed: str) -> list[str]:
    """The names of finished seasons holding what was typed, newest first."""
    return [s.name for s in await uow.seasons.search_ended(guild_id, name_key(typed), SEARCH_LIMIT)]


async def _board(uow: UnitOfWork, season: Season, currency: str, shown: int) -> SeasonBoard:
    assert season.id is not None and season.ended_at is not None, "only a finished season has standings"
    rows = await uow.seasons.standings(season.id, shown)
    return SeasonBoard(
        number=season.number,
        name=season.name,
        started_at=season.started_at,
        ended_at=season.ended_at,
        entries=[LeaderboardEntry(user_id=u, balance=b) for u, b in rows],
        currency=currency,
    )
