"""Buying and selling outcome shares: one transaction, the market row locked first, then the member."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import UpdateBase

from app.domain import lmsr
from app.errors import InsufficientBalance, NotFound
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import (
    AccountMissing,
    Actor,
    accounts,
    audit_events,
    from_micro,
    guilds,
    markets,
    to_micro,
    transfers,
)
from app.services.markets import market_state, market_view, outcome_index
from app.services.views import TradeReceipt
from models.tables import positions, trades

_p = sa.bindparam
_seen = accounts.alias("seen")
# The market row and the member's account row, locked in that order (markets come first in the FROM, and
# Postgres takes row locks in that order), with what a trade needs of the guild and the member's positions.
# `locked_version` is the account row as locked; `seen_version` the row as this statement's snapshot saw
# it. They differ only when the member traded while this statement waited for the market: then the
# positions it read are stale, and `_locked` reads them again.
LOCK_TRADE = (
    sa.select(
        markets,
        guilds.c.currency_name,
        guilds.c.max_stake,
        accounts.c.id.label("account_id"),
        accounts.c.balance.label("member_balance"),
        sa.cast(sa.literal_column("accounts.xmin"), sa.Text).label("locked_version"),
        sa.select(sa.cast(sa.literal_column("seen.xmin"), sa.Text))
        .where(_seen.c.id == accounts.c.id)
        .scalar_subquery()
        .label("seen_version"),
        positions.c.outcome.label("held_outcome"),
        positions.c.shares.label("held_shares"),
    )
    .select_from(
        markets.join(guilds, guilds.c.id == markets.c.guild_id)
        .join(accounts, sa.and_(accounts.c.guild_id == markets.c.guild_id, accounts.c.user_id == _p("user_id")))
        .outerjoin(positions, sa.and_(positions.c.market_id == markets.c.id, positions.c.account_id == accounts.c.id))
    )
    .where(markets.c.guild_id == _p("guild_id"), markets.c.number == _p("number"))
    .with_for_update(of=[markets, accounts])
)
# SQLite runs one writer at a time (BEGIN IMMEDIATE): what a statement reads is never stale.
LOCK_TRADE_SQLITE = LOCK_TRADE.with_only_columns(
    *(c for c in LOCK_TRADE.selected_columns if c.name not in ("locked_version", "seen_version"))
)
POSITIONS = sa.select(positions.c.outcome, positions.c.shares).where(
    positions.c.market_id == _p("market_id"), positions.c.account_id == _p("account_id")
)


async def _locked(uow: UnitOfWork, actor: Actor, number: int, outcome: int | str) -> tuple[Any, Any, Any, int]:
    """Lock the market, then the member's account, and read the member's positions in the market: one
    round trip while nobody else trades this member, two when they did while we waited."""
    params = {"user_id": actor.user_id, "guild_id": actor.guild_id, "number": number}
    rows = (await uow.conn.execute(LOCK_TRADE if uow.is_postgres else LOCK_TRADE_SQLITE, params)).mappings().all()
    if not rows:
        exists = await uow.conn.scalar(
            sa.select(markets.c.id).where(markets.c.guild_id == actor.guild_id, markets.c.number == number)
        )
        if exists is None:
            raise NotFound(f"There is no market #{number} in this server.")
        # Opened in a short transaction of its own (see `execute`), so a trade never holds the house lock.
        raise AccountMissing(actor.guild_id, actor.user_id)
    market = rows[0]
    index = outcome_index(list(market["outcomes"]), outcome)
    held = [(row["held_outcome"], row["held_shares"]) for row in rows if row["held_outcome"] is not None]
    if uow.is_postgres and market["locked_version"] != market["seen_version"]:
        fresh = await uow.conn.execute(POSITIONS, {"market_id": market["id"], "account_id": market["account_id"]})
        held = [(o, s) for o, s in fresh]
    shares = dict(held)
    position = {"shares": shares[index]} if index in shares else None
    member = {"id": market["account_id"], "balance": int(market["member_balance"])}
    return market, member, position, index


@cache
def _trade_writes(dialect: str) -> tuple[UpdateBase, ...]:
    """Every write of a trade, built once per dialect with named parameters (see `stage_prepared`).

    A trade is the hot path: building these per request cost more CPU than everything else it does.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Parameter names never match a column's: SQLAlchemy would take such a key for a SET or VALUES entry.
    p = sa.bindparam
    position = upsert(positions).values(
        market_id=p("t_market_id"),
        account_id=p("t_account_id"),
        outcome=p("t_outcome"),
        shares=p("t_held"),
        paid_in=p("t_paid_in"),
        taken_out=p("t_taken_out"),
    )
    position = position.on_conflict_do_update(
        index_elements=[positions.c.market_id, positions.c.account_id, positions.c.outcome],
        set_={
            "shares": position.excluded.shares,
            "paid_in": positions.c.paid_in + position.excluded.paid_in,
            "taken_out": positions.c.taken_out + position.excluded.taken_out,
        },
    )
    market = (
        sa.update(markets)
        .where(markets.c.id == p("t_market_id"))
        .values(
            shares=p("t_market_shares", type_=markets.c.shares.type),
            volume=markets.c.volume + p("t_points"),
            trade_count=markets.c.trade_count + sa.literal_column("1"),
        )
    )
    trade = sa.insert(trades).values(
        guild_id=p("t_guild_id"),
        market_id=p("t_market_id"),
        account_id=p("t_account_id"),
        user_id=p("t_user_id"),
        outcome=p("t_outcome"),
        side=p("t_side"),
        points=p("t_points"),
        shares=p("t_micro"),
        prices_after=p("t_prices_after", type_=trades.c.prices_after.type),
        interaction_id=p("t_interaction_id"),
        created_at=p("t_now"),
    )
    member = (
        sa.update(accounts)
        .where(accounts.c.id == p("t_account_id"))
        .values(balance=accounts.c.balance + p("t_member_delta"))
    )
    pool = (
        sa.update(accounts)
        .where(accounts.c.id == p("t_pool_id"))
        .values(balance=accounts.c.balance - p("t_member_delta"))
    )
    transfer = sa.insert(transfers).values(
        guild_id=p("t_guild_id"),
        debit_account_id=p("t_debit"),
        credit_account_id=p("t_credit"),
        amount=p("t_points"),
        reason=p("t_reason"),
        market_id=p("t_market_id"),
        interaction_id=p("t_interaction_id"),
        created_at=p("t_now"),
    )
    audit_row = sa.insert(audit_events).values(
        guild_id=p("t_guild_id"),
        actor_id=p("t_user_id"),
        action=p("t_action"),
        market_id=p("t_market_id"),
        details=p("t_details", type_=audit_events.c.details.type),
        interaction_id=p("t_interaction_id"),
        created_at=p("t_now"),
    )
    return position, market, trade, member, pool, transfer, audit_row


def _stage_trade(
    uow: UnitOfWork,
    actor: Actor,
    market: Any,
    member: Any,
    position: Any,
    result: lmsr.TradeResult,
    side: str,
) -> int:
    """Stage every write of a trade (one transfer, balanced); return the member's micro-shares after it."""
    buying = side == "buy"
    micro = to_micro(result.shares)
    held = (position["shares"] if position else 0) + (micro if buying else -micro)
    pool = market["pool_account_id"]
    params = {
        "t_market_id": market["id"],
        "t_account_id": member["id"],
        "t_pool_id": pool,
        "t_guild_id": actor.guild_id,
        "t_user_id": actor.user_id,
        "t_interaction_id": actor.interaction_id,
        "t_now": uow.now,
        "t_outcome": result.outcome,
        "t_held": held,
        "t_paid_in": result.points if buying else 0,
        "t_taken_out": 0 if buying else result.points,
        "t_market_shares": [to_micro(q) for q in result.state.shares],
        "t_points": result.points,
        "t_side": side,
        "t_micro": micro,
        "t_prices_after": [str(p) for p in lmsr.prices(result.state)],
        "t_member_delta": -result.points if buying else result.points,
        "t_debit": member["id"] if buying else pool,
        "t_credit": pool if buying else member["id"],
        "t_reason": "stake" if buying else "sale",
        "t_action": f"trade.{side}",
        "t_details": {
            "number": market["number"],
            "outcome": result.outcome,
            "points": result.points,
            "shares": str(result.shares),
        },
    }
    for statement in _trade_writes("postgresql" if uow.is_postgres else "sqlite"):
        uow.stage_prepared(statement, params)
    return held


def _receipt(market: Any, guild: Any, side: str, result: lmsr.TradeResult, held: int, balance: int) -> TradeReceipt:
    after = dict(market) | {
        "shares": [to_micro(q) for q in result.state.shares],
        "volume": market["volume"] + result.points,
        "trade_count": market["trade_count"] + 1,
    }
    return TradeReceipt(
        market=market_view(after, guild["currency_name"]),
        side=side,
        outcome=result.outcome,
        points=result.points,
        shares=result.shares,
        probability_before=result.price_before,
        probability_after=result.price_after,
        shares_held=from_micro(held),
        balance=balance,
        currency=guild["currency_name"],
    )


async def buy(uow: UnitOfWork, actor: Actor, number: int, outcome: int | str, amount: int | None) -> TradeReceipt:
    """Stake `amount` points on `outcome` (index or label; `None` stakes everything, up to the maximum)."""
    market, member, position, outcome = await _locked(uow, actor, number, outcome)
    if amount is None:
        amount = min(member["balance"], market["max_stake"])
        if amount < 1:
            raise InsufficientBalance("You have no points to stake.")
    if amount > member["balance"]:
        raise InsufficientBalance(f"You only have {member['balance']:,} {market['currency_name']}, not {amount:,}.")
    result = lmsr.buy(market_state(market, uow.now), outcome, amount, max_points=market["max_stake"])
    held = _stage_trade(uow, actor, market, member, position, result, "buy")
    return _receipt(market, market, "buy", result, held, member["balance"] - amount)


async def sell(uow: UnitOfWork, actor: Actor, number: int, outcome: int | str, shares: Decimal | None) -> TradeReceipt:
    """Sell `shares` of `outcome` (index or label) back to the market (`None` sells all the member holds)."""
    market, member, position, outcome = await _locked(uow, actor, number, outcome)
    held = from_micro(position["shares"]) if position else Decimal(0)
    if held <= 0:
        raise NotFound(f"You hold no shares of {market['outcomes'][outcome]} in market #{number}.")
    result = lmsr.sell(market_state(market, uow.now), outcome, held if shares is None else shares, held=held)
    left = _stage_trade(uow, actor, market, member, position, result, "sell")
    return _receipt(market, market, "sell", result, left, member["balance"] + result.points)
