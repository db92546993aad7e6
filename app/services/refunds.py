"""Stale markets refund themselves: a closed market nobody resolves within its server's `auto_refund_after`
is cancelled by Hunch with the usual exact refunds, and its creator is reminded a day before (a market found
already past its time, the setting lowered or new, is reminded first and refunded a day later)."""

from __future__ import annotations

from datetime import datetime

from app.domain.actor import system_actor
from app.domain.events import MarketRefundDue
from app.domain.limits import REFUND_REMINDER
from app.domain.market import refund_due_at, spoken_duration
from app.services.ports import UnitOfWork
from app.services.results import Settlement
from app.services.settlement import cancel_market

BATCH = 100  # markets refunded or reminded per scheduler pass (each refund is a transaction of its own)


async def refunds_due(uow: UnitOfWork, now: datetime) -> list[tuple[int, int]]:
    """(guild id, number) of the closed markets whose refund is due."""
    return await uow.markets.refunds_due(now, BATCH)


async def refund_if_stale(uow: UnitOfWork, guild_id: int, number: int) -> Settlement | None:
    """Cancel the market with refunds if it is still closed, unresolved and due (`refund_due_at`; checked again
    under its lock: it may have been resolved or unresolved meanwhile); None otherwise."""
    guild = await uow.guilds.get(guild_id)
    market = await uow.markets.get(guild_id, number, lock=True)
    after = guild.auto_refund_after_seconds
    if market is None or (due := refund_due_at(market, after)) is None or due > uow.now:
        return None
    reason = f"Nobody resolved it within {spoken_duration(after)} of its close."
    refunded = await cancel_market(uow, system_actor(guild_id), number, reason)
    await uow.commit()
    return refunded


async def remind_refunds(uow: UnitOfWork, now: datetime) -> int:
    """Tell the creators of markets to be refunded within a day, or already due (once each, through
    `MarketRefundDue`): the refund comes when `refund_due_at` says, a day from now at the earliest."""
    due = await uow.markets.remind_refunds(now, int(REFUND_REMINDER.total_seconds()), BATCH)
    for market in due:
        guild = await uow.guilds.get(market.guild_id)
        refund_at = refund_due_at(market, guild.auto_refund_after_seconds)
        if refund_at is None:  # refunds turned off in the moment since the query: nothing to remind of
            continue
        uow.events.record(
            system_actor(market.guild_id),
            MarketRefundDue(
                market.id, number=market.number, creator_id=market.creator_id, refund_at=refund_at.isoformat()
            ),
        )
    await uow.commit()
    return len(due)
