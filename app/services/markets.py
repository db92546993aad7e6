"""A market's life before settlement: create it, close it, and close the expired ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.domain import limits, lmsr
from app.domain.actor import Actor, system_actor
from app.domain.audit import AuditAction
from app.domain.errors import Conflict, NotFound, ValidationError
from app.domain.events import MarketClosed, MarketClosingSoon, MarketCreated
from app.domain.ledger import Transfer, TransferReason
from app.domain.market import Market, MarketStatus, require_may_create, require_may_settle
from app.services.ports import UnitOfWork
from app.services.results import MarketView, market_view
from app.services.rows import Followup, NewMarket


@dataclass(frozen=True)
class CreateMarket:
    question: str
    outcomes: list[str]
    description: str = ""
    closes_in: timedelta | None = None
    liquidity: int | None = None
    channel_id: int | None = None
    followup: Followup | None = None  # the reply that will show the market, to keep it up to date


async def find_market(uow: UnitOfWork, guild_id: int, number: int, *, lock: bool = False) -> Market:
    market = await uow.markets.get(guild_id, number, lock=lock)
    if market is None:
        raise NotFound(f"There is no market #{number} in this server.")
    return market


async def create_market(uow: UnitOfWork, actor: Actor, cmd: CreateMarket) -> MarketView:
    """Open a market; the house funds its pool with the liquidity, which bounds what the house can lose."""
    guild = await uow.guilds.get(actor.guild_id)
    require_may_create(actor, guild.creator_role_id)
    liquidity = guild.default_liquidity if cmd.liquidity is None else cmd.liquidity
    if liquidity not in limits.LIQUIDITY:
        raise ValidationError(limits.LIQUIDITY.describe("Liquidity"))
    lmsr.new_market(len(cmd.outcomes), liquidity)  # the market maker's own checks of the outcomes
    closes_in = cmd.closes_in or timedelta(seconds=guild.default_duration_seconds)
    number = await uow.guilds.take_market_number(actor.guild_id)
    market = await uow.markets.add(
        NewMarket(
            guild_id=actor.guild_id,
            number=number,
            question=cmd.question,
            description=cmd.description,
            outcomes=tuple(cmd.outcomes),
            liquidity=liquidity,
            creator_id=actor.user_id,
            channel_id=cmd.channel_id,
            closes_at=uow.now + closes_in,
        ),
        uow.now,
    )
    house = await uow.accounts.house(actor.guild_id)
    uow.ledger.post(actor, [Transfer(house, market.pool_account_id, liquidity, TransferReason.SUBSIDY, market.id)])
    uow.ledger.audit(actor, AuditAction.MARKET_CREATE, market_id=market.id, number=number, liquidity=liquidity)
    uow.events.record(
        actor,
        MarketCreated(
            market.id,
            number=number,
            question=market.question,
            outcomes=list(market.outcomes),
            liquidity=liquidity,
            channel_id=market.channel_id,
            closes_at=market.closes_at.isoformat(),
        ),
    )
    if cmd.followup is not None and cmd.channel_id is not None:
        await uow.messages.keep(cmd.followup)
        await uow.messages.show(market.id, cmd.channel_id, cmd.followup.interaction_id)
    await uow.flush()
    return market_view(market, guild.currency_name)


async def close_market(uow: UnitOfWork, actor: Actor, number: int) -> MarketView:
    guild = await uow.guilds.get(actor.guild_id)
    market = await find_market(uow, actor.guild_id, number, lock=True)
    require_may_settle(actor, market, guild.resolver_role_id)
    if market.status is not MarketStatus.OPEN:
        raise Conflict(f"Market #{number} is already closed.")
    closed = await stop_trading(uow, actor, market)
    await uow.flush()
    return market_view(closed, guild.currency_name)


async def stop_trading(uow: UnitOfWork, actor: Actor, market: Market, **audit: Any) -> Market:
    """Close an open market (locked by the caller), audited and told as `MarketClosed`."""
    # A market closed only because a settlement was asked for comes back open if that settlement is undone.
    to_settle = "settling" in audit
    closed = await uow.markets.set_status(market, MarketStatus.CLOSED, uow.now, closed_to_settle=to_settle)
    uow.ledger.audit(actor, AuditAction.MARKET_CLOSE, market_id=market.id, number=market.number, **audit)
    uow.events.record(actor, MarketClosed(market.id, number=market.number, expired=False))
    return closed


CLOSING_SOON = timedelta(hours=1)


async def announce_closing(uow: UnitOfWork, now: datetime) -> int:
    """Record that the markets closing within the hour are about to close (in servers that want to hear it);
    the worker announces them in their channels. Each market once. How many."""
    soon = await uow.markets.closing_soon(now, now + CLOSING_SOON)
    for market in soon:
        uow.events.record(
            system_actor(market.guild_id),
            MarketClosingSoon(market.id, number=market.number, closes_at=market.closes_at.isoformat()),
        )
    await uow.commit()
    return len(soon)


async def close_expired_markets(uow: UnitOfWork, now: datetime) -> list[tuple[int, int]]:
    """Close every open market whose close time has passed; safe to run concurrently and repeatedly.

    Closing is a state change like any other: audited, as done by Hunch itself. Returns (guild id, number)."""
    closed = await uow.markets.close_expired(now)
    for market in closed:
        hunch = system_actor(market.guild_id)
        uow.ledger.audit(hunch, AuditAction.MARKET_CLOSE, market_id=market.id, number=market.number, expired=True)
        uow.events.record(hunch, MarketClosed(market.id, number=market.number, expired=True))
    await uow.commit()
    return [(market.guild_id, market.number) for market in closed]
