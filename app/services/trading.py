"""Buying and selling outcome shares: one transaction, the market row locked first, then the member."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.domain import lmsr
from app.errors import InsufficientBalance, NotFound, ValidationError
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import (
    Actor,
    Posting,
    accounts,
    audit,
    from_micro,
    get_guild,
    get_or_create_member,
    markets,
    post,
    to_micro,
)
from app.services.markets import find_market, market_state, market_view
from app.services.views import TradeReceipt
from models.tables import Position, Trade

positions = Position.__table__
trades = Trade.__table__


async def _locked(uow: UnitOfWork, actor: Actor, number: int, outcome: int) -> tuple[Any, Any, Any, Any]:
    guild = await get_guild(uow, actor.guild_id)
    # The market first: opening a new member's account locks the house, which settling a market
    # locks after the market too (lock order: market, house, members; see `lock_house`).
    market = await find_market(uow, actor.guild_id, number, lock=True)
    if not 0 <= outcome < len(market["outcomes"]):
        raise ValidationError("That outcome is not one of this market's outcomes.")
    member = await get_or_create_member(uow, guild, actor.user_id, actor.interaction_id)
    # Locked after the market: every trade takes its locks in the same order.
    balance = await uow.conn.scalar(
        sa.select(accounts.c.balance).where(accounts.c.id == member["id"]).with_for_update()
    )
    position = (
        await uow.conn.execute(
            sa.select(positions).where(
                positions.c.market_id == market["id"],
                positions.c.account_id == member["id"],
                positions.c.outcome == outcome,
            )
        )
    ).mappings().first()
    return guild, dict(member) | {"balance": int(balance)}, market, position


def _stage_trade(
    uow: UnitOfWork,
    actor: Actor,
    market: Any,
    member: Any,
    position: Any,
    result: lmsr.TradeResult,
    side: str,
) -> int:
    """Stage every write of a trade; return the member's micro-shares of the outcome afterwards."""
    sign = 1 if side == "buy" else -1
    micro = to_micro(result.shares)
    held = (position["shares"] if position else 0) + sign * micro
    paid = result.points if side == "buy" else 0
    out = result.points if side == "sell" else 0
    if position is None:
        uow.stage(
            sa.insert(positions).values(
                market_id=market["id"], account_id=member["id"], outcome=result.outcome,
                shares=held, paid_in=paid, taken_out=out,
            )
        )
    else:
        uow.stage(
            sa.update(positions)
            .where(
                positions.c.market_id == market["id"],
                positions.c.account_id == member["id"],
                positions.c.outcome == result.outcome,
            )
            .values(shares=held, paid_in=positions.c.paid_in + paid, taken_out=positions.c.taken_out + out)
        )
    uow.stage(
        sa.update(markets)
        .where(markets.c.id == market["id"])
        .values(
            shares=[to_micro(q) for q in result.state.shares],
            volume=markets.c.volume + result.points,
            trade_count=markets.c.trade_count + 1,
        )
    )
    uow.stage(
        sa.insert(trades).values(
            guild_id=actor.guild_id, market_id=market["id"], account_id=member["id"], user_id=actor.user_id,
            outcome=result.outcome, side=side, points=result.points, shares=micro,
            prices_after=[str(p) for p in lmsr.prices(result.state)],
            interaction_id=actor.interaction_id, created_at=uow.now,
        )
    )
    pool = market["pool_account_id"]
    posting = (
        Posting(member["id"], pool, result.points, "stake", market["id"])
        if side == "buy"
        else Posting(pool, member["id"], result.points, "sale", market["id"])
    )
    post(uow, actor.guild_id, [posting], actor.interaction_id)
    audit(uow, actor, f"trade.{side}", market_id=market["id"], number=market["number"], outcome=result.outcome,
          points=result.points, shares=str(result.shares))
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


async def buy(uow: UnitOfWork, actor: Actor, number: int, outcome: int, amount: int | None) -> TradeReceipt:
    """Stake `amount` points on `outcome` (`None` stakes everything, up to the guild's maximum)."""
    guild, member, market, position = await _locked(uow, actor, number, outcome)
    if amount is None:
        amount = min(member["balance"], guild["max_stake"])
        if amount < 1:
            raise InsufficientBalance("You have no points to stake.")
    if amount > member["balance"]:
        raise InsufficientBalance(
            f"You only have {member['balance']:,} {guild['currency_name']}, not {amount:,}."
        )
    result = lmsr.buy(market_state(market, uow.now), outcome, amount, max_points=guild["max_stake"])
    held = _stage_trade(uow, actor, market, member, position, result, "buy")
    return _receipt(market, guild, "buy", result, held, member["balance"] - amount)


async def sell(uow: UnitOfWork, actor: Actor, number: int, outcome: int, shares: Decimal | None) -> TradeReceipt:
    """Sell `shares` of `outcome` back to the market (`None` sells all the member holds)."""
    guild, member, market, position = await _locked(uow, actor, number, outcome)
    held = from_micro(position["shares"]) if position else Decimal(0)
    if held <= 0:
        raise NotFound(f"You hold no shares of {market['outcomes'][outcome]} in market #{number}.")
    result = lmsr.sell(market_state(market, uow.now), outcome, held if shares is None else shares, held=held)
    left = _stage_trade(uow, actor, market, member, position, result, "sell")
    return _receipt(market, guild, "sell", result, left, member["balance"] + result.points)
