"""Read-only use cases: balances, portfolios, the leaderboard, market look-ups and search."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain import lmsr
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import accounts, from_micro, get_member, guilds, markets
from app.services.markets import find_market, market_state, market_view
from app.services.views import (
    BalanceView,
    Leaderboard,
    LeaderboardEntry,
    MarketView,
    Portfolio,
    PositionView,
)
from models.tables import positions

MARKET_STATUSES = ("open", "closed", "resolved", "cancelled")


async def _guild_settings(uow: UnitOfWork, guild_id: int) -> tuple[str, int]:
    row = (
        await uow.conn.execute(
            sa.select(guilds.c.currency_name, guilds.c.starting_balance).where(guilds.c.id == guild_id)
        )
    ).first()
    return (row[0], int(row[1])) if row else ("points", 1000)


async def balance(uow: UnitOfWork, guild_id: int, user_id: int) -> BalanceView:
    currency, starting = await _guild_settings(uow, guild_id)
    member = await get_member(uow, guild_id, user_id)
    # A member who never played is shown what their account will open with.
    return BalanceView(user_id=user_id, balance=member["balance"] if member else starting, currency=currency)


async def portfolio(uow: UnitOfWork, guild_id: int, user_id: int) -> Portfolio:
    currency, starting = await _guild_settings(uow, guild_id)
    member = await get_member(uow, guild_id, user_id)
    if member is None:
        return Portfolio(user_id=user_id, balance=starting, currency=currency, positions=[])
    rows = (
        (
            await uow.conn.execute(
                sa.select(
                    markets,
                    positions.c.outcome.label("position_outcome"),
                    positions.c.shares.label("position_shares"),
                    positions.c.paid_in,
                    positions.c.taken_out,
                )
                .join(markets, markets.c.id == positions.c.market_id)
                .where(positions.c.account_id == member["id"], markets.c.status.in_(("open", "closed")))
                .order_by(markets.c.number, positions.c.outcome)
            )
        )
        .mappings()
        .all()
    )
    views = []
    for row in rows:
        shares = from_micro(row["position_shares"])
        if shares <= 0 and row["paid_in"] == 0:
            continue
        outcome = row["position_outcome"]
        value = lmsr.points_for_shares(market_state(row), outcome, shares) if shares > 0 else 0
        views.append(
            PositionView(
                market_number=row["number"],
                question=row["question"],
                status=row["status"],
                outcome=outcome,
                outcome_label=row["outcomes"][outcome],
                shares=shares,
                value=value,
                paid_in=row["paid_in"],
                taken_out=row["taken_out"],
            )
        )
    return Portfolio(user_id=user_id, balance=member["balance"], currency=currency, positions=views)


async def leaderboard(uow: UnitOfWork, guild_id: int, limit: int = 10) -> Leaderboard:
    currency, _ = await _guild_settings(uow, guild_id)
    rows = (
        await uow.conn.execute(
            sa.select(accounts.c.user_id, accounts.c.balance)
            .where(accounts.c.guild_id == guild_id, accounts.c.kind == "member")
            .order_by(accounts.c.balance.desc(), accounts.c.id)
            .limit(limit)
        )
    ).all()
    return Leaderboard(entries=[LeaderboardEntry(user_id=u, balance=b) for u, b in rows], currency=currency)


async def show_market(uow: UnitOfWork, guild_id: int, number: int) -> MarketView:
    currency, _ = await _guild_settings(uow, guild_id)
    return market_view(await find_market(uow, guild_id, number), currency)


async def list_markets(
    uow: UnitOfWork, guild_id: int, status: str | None = "open", limit: int = 25
) -> list[MarketView]:
    currency, _ = await _guild_settings(uow, guild_id)
    query = sa.select(markets).where(markets.c.guild_id == guild_id)
    if status and status != "all":
        query = query.where(markets.c.status == status)
    rows = (await uow.conn.execute(query.order_by(markets.c.number.desc()).limit(limit))).mappings().all()
    return [market_view(row, currency) for row in rows]


async def search_markets(
    uow: UnitOfWork, guild_id: int, text: str, limit: int = 25, statuses: tuple[str, ...] = ("open",)
) -> list[tuple[int, str]]:
    """Markets in `statuses` matching `text` by number or by words of the question.

    The market whose number was typed comes first; the rest are most recent first.
    """
    query = (
        sa.select(markets.c.number, markets.c.question)
        .where(markets.c.guild_id == guild_id, markets.c.status.in_(statuses))
        .order_by(markets.c.number.desc())
    )
    text = text.strip().lstrip("#").strip()
    number = int(text) if text.isdigit() and len(text) < 10 else None
    if text:
        conditions = []
        if number is not None:
            conditions.append(markets.c.number == number)
        words = [w for w in text.lower().split() if w]
        if words:
            conditions.append(
                sa.and_(*[sa.func.lower(markets.c.question).contains(w, autoescape=True) for w in words[:8]])
            )
        query = query.where(sa.or_(*conditions))
        if number is not None:
            query = query.order_by(None).order_by((markets.c.number == number).desc(), markets.c.number.desc())
    rows = (await uow.conn.execute(query.limit(limit))).all()
    return [(int(n), q) for n, q in rows]
