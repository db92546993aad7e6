"""Stale markets refund themselves: a closed market nobody resolves within its server's `auto_refund_after`
is cancelled by Hunch with the usual exact refunds, and its creator is reminded a day before."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain.actor import system_actor
from app.domain.events import MarketRefundDue
from app.domain.limits import REFUND_REMINDER
from app.domain.market import MarketStatus, as_utc, spoken_duration
from app.services.ports import UnitOfWork
from app.services.results import Settlement
from app.services.settlement import cancel_market

BATCH = 100  # markets refunded or reminded per scheduler pass (each refund is a transaction of its own)


async def refunds_due(uow: UnitOfWork, now: datetime) -> list[tuple[int, int]]:
    """(guild id, number) of the closed markets whose refund is due."""
    return await uow.markets.refunds_due(now, BATCH)


async def refund_if_stale(uow: UnitOfWork, guild_id: int, number: int) -> Settlement | None:
    """Cancel the market with refunds if it is still closed, unresolved, past its server's `auto_refund_after`
    (checked again under its lock: it may have been resolved or unresolved meanwhile); None otherwise."""
    guild = await uow.guilds.get(guild_id)
    market = await uow.markets.get(guild_id, number, lock=True)
    after = guild.auto_refund_after_seconds
    if market is None or market.status is not MarketStatus.CLOSED or market.closed_at is None or after <= 0:
        return None
    if as_utc(market.closed_at) + timedelta(seconds=after) > uow.now:
        return None
    reason = f"Nobody resolved it within {spoken_duration(after)} of its close."
    refunded = await cancel_market(uow, system_actor(guild_id), number, reason)
    await uow.commit()
    return refunded


async def remind_refunds(uow: UnitOfWork, now: datetime) -> int:
    """Tell the creators of markets to be refunded within a day (once each, through `MarketRefundDue`)."""
    due = await uow.markets.remind_refunds(now, int(REFUND_REMINDER.total_seconds()), BATCH)
    for market in due:
        guild = await uow.guilds.get(market.guild_id)
        assert market.closed_at is not None
        refund_at = as_utc(market.closed_at) + timedelta(seconds=guild.auto_refund_after_seconds)
        uow.events.record(
            system_actor(market.guild_id),
            MarketRefundDue(
                market.id, number=market.number, creator_id=market.creator_id, refund_at=refund_at.isoformat()
            ),
        )
    await uow.commit()
    return len(due)
