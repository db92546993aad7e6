"""Read-only use cases: balances, portfolios, the leaderboard, market look-ups and search."""

from __future__ import annotations

from collections.abc import Sequence

from app.domain import lmsr
from app.domain.guild import DEFAULTS, GuildSettings
from app.domain.inputs import parse_market_reference
from app.domain.inputs.text import clean_line
from app.domain.market import MarketStatus
from app.domain.shares import from_micro
from app.services.markets import find_market
from app.services.ports import UnitOfWork
from app.services.results import (
    BalanceView,
    Leaderboard,
    LeaderboardEntry,
    MarketView,
    Portfolio,
    PositionView,
    market_view,
)

PORTFOLIO_POSITIONS = 50
SEARCH_WORDS = 8


async def _settings(uow: UnitOfWork, guild_id: int) -> GuildSettings:
    return await uow.guilds.find(guild_id) or DEFAULTS


async def balance(uow: UnitOfWork, guild_id: int, user_id: int) -> BalanceView:
    guild = await _settings(uow, guild_id)
    member = await uow.accounts.member(guild_id, user_id)
    # A member who never played is shown what their account will open with.
    shown = member.balance if member else guild.starting_balance
    return BalanceView(user_id=user_id, balance=shown, currency=guild.currency_name)


async def portfolio(uow: UnitOfWork, guild_id: int, user_id: int) -> Portfolio:
    guild = await _settings(uow, guild_id)
    member = await uow.accounts.member(guild_id, user_id)
    if member is None:
        return Portfolio(user_id=user_id, balance=guild.starting_balance, currency=guild.currency_name, positions=[])
    views = []
    for row in await uow.reads.open_positions(member.id, PORTFOLIO_POSITIONS):
        shares = from_micro(row.shares)
        if shares <= 0 and row.paid_in == 0:
            continue
        value = lmsr.points_for_shares(row.market.state(), row.outcome, shares) if shares > 0 else 0
        views.append(
            PositionView(
                market_number=row.market.number,
                question=row.market.question,
                status=row.market.status.value,
                outcome=row.outcome,
                outcome_label=row.market.outcomes[row.outcome],
                shares=shares,
                value=value,
                paid_in=row.paid_in,
                taken_out=row.taken_out,
            )
        )
    return Portfolio(user_id=user_id, balance=member.balance, currency=guild.currency_name, positions=views)


async def leaderboard(uow: UnitOfWork, guild_id: int, limit: int = 10) -> Leaderboard:
    guild = await _settings(uow, guild_id)
    rows = await uow.reads.top_balances(guild_id, limit)
    return Leaderboard(entries=[LeaderboardEntry(user_id=u, balance=b) for u, b in rows], currency=guild.currency_name)


async def show_market(uow: UnitOfWork, guild_id: int, number: int) -> MarketView:
    guild = await _settings(uow, guild_id)
    return market_view(await find_market(uow, guild_id, number), guild.currency_name)


async def list_markets(
    uow: UnitOfWork, guild_id: int, status: MarketStatus | None = MarketStatus.OPEN, limit: int = 25
) -> list[MarketView]:
    """The newest markets in `status` (None: any)."""
    guild = await _settings(uow, guild_id)
    return [market_view(m, guild.currency_name) for m in await uow.reads.markets(guild_id, status, limit)]


async def search_markets(
    uow: UnitOfWork,
    guild_id: int,
    text: str,
    limit: int = 25,
    statuses: Sequence[MarketStatus] = (MarketStatus.OPEN,),
) -> list[tuple[int, str]]:
    """Markets in `statuses` matching `text` by number or by words of the question; the market whose number
    was typed first, the rest newest first."""
    words = [w for w in clean_line(text).lstrip("#").lower().split() if w][:SEARCH_WORDS]
    return await uow.reads.search_markets(guild_id, parse_market_reference(text), words, statuses, limit)
