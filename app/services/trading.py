"""Buying and selling outcome shares: one transaction, the market row locked first, then the member."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.domain import lmsr
from app.errors import InsufficientBalance, NotFound
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import (
    AccountMissing,
    Actor,
    Posting,
    accounts,
    audit,
    from_micro,
    guilds,
    markets,
    post,
    to_micro,
)
from app.services.markets import market_state, market_view, outcome_index
from app.services.views import TradeReceipt
from models.tables import Position, Trade

positions = Position.__table__
trades = Trade.__table__


async def _locked(uow: UnitOfWork, actor: Actor, number: int, outcome: int | str) -> tuple[Any, Any, Any, Any, int]:
    """Lock the market, then the member's account, and read the member's positions in the market.

    Two statements, in the lock order every use case follows (market, then accounts). The positions are
    read by the second one, after the market lock is held: a statement that waited for a lock sees
    other tables as of when it started, and a position only changes under its market's lock.
    """
    market = (
        await uow.conn.execute(
            sa.select(
                markets,
                guilds.c.currency_name,
                guilds.c.max_stake,
                accounts.c.id.label("account_id"),
            )
            .select_from(
                markets.join(guilds, guilds.c.id == markets.c.guild_id).outerjoin(
                    accounts, sa.and_(accounts.c.guild_id == markets.c.guild_id, accounts.c.user_id == actor.user_id)
                )
            )
            .where(markets.c.guild_id == actor.guild_id, markets.c.number == number)
            .with_for_update(of=markets)
        )
    ).mappings().first()
    if market is None:
        raise NotFound(f"There is no market #{number} in this server.")
    if market["account_id"] is None:
        # Opened in a short transaction of its own (see `execute`), so a trade never holds the house lock.
        raise AccountMissing(actor.guild_id, actor.user_id)
    index = outcome_index(list(market["outcomes"]), outcome)
    account_id = market["account_id"]
    rows = (
        await uow.conn.execute(
            sa.select(accounts.c.balance, positions.c.outcome, positions.c.shares)
            .select_from(
                accounts.outerjoin(
                    positions, sa.and_(positions.c.account_id == accounts.c.id, positions.c.market_id == market["id"])
                )
            )
            .where(accounts.c.id == account_id)
            .with_for_update(of=accounts)
        )
    ).all()
    held = {o: shares for _, o, shares in rows if o is not None}
    position = {"shares": held[index]} if index in held else None
    member = {"id": account_id, "balance": int(rows[0][0])}
    return market, member, market, position, index


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


async def buy(
    uow: UnitOfWork, actor: Actor, number: int, outcome: int | str, amount: int | None
) -> TradeReceipt:
    """Stake `amount` points on `outcome` (index or label; `None` stakes everything, up to the maximum)."""
    guild, member, market, position, outcome = await _locked(uow, actor, number, outcome)
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


async def sell(
    uow: UnitOfWork, actor: Actor, number: int, outcome: int | str, shares: Decimal | None
) -> TradeReceipt:
    """Sell `shares` of `outcome` (index or label) back to the market (`None` sells all the member holds)."""
    guild, member, market, position, outcome = await _locked(uow, actor, number, outcome)
    held = from_micro(position["shares"]) if position else Decimal(0)
    if held <= 0:
        raise NotFound(f"You hold no shares of {market['outcomes'][outcome]} in market #{number}.")
    result = lmsr.sell(market_state(market, uow.now), outcome, held if shares is None else shares, held=held)
    left = _stage_trade(uow, actor, market, member, position, result, "sell")
    return _receipt(market, guild, "sell", result, left, member["balance"] + result.points)
