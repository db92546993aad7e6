"""The periodic work, as the scheduler calls it: close markets whose time is up, announce closings, refund
stale markets and remind their creators, and forget what is only kept for a while. Each step runs in
transactions of its own, so one market's failure holds back neither the others nor the rest of the pass."""

from __future__ import annotations

import logging
from datetime import datetime

from app.services import markets, refunds
from app.services.ports import Transactions, UnitOfWork
from app.services.results import Settlement

logger = logging.getLogger("hunch.use_cases")


class PeriodicWork:
    """The scheduler's steps, part of `UseCases` (which provides the transactions)."""

    _transactions: Transactions

    async def refund_stale_markets(self, now: datetime) -> list[tuple[int, int]]:
        """Cancel, with refunds, each closed market nobody resolved in time: each in a transaction of its own."""
        refunded = []
        for guild_id, number in await self._transactions.run(lambda uow: refunds.refunds_due(uow, now)):

            async def refund(uow: UnitOfWork, guild_id: int = guild_id, number: int = number) -> Settlement | None:
                return await refunds.refund_if_stale(uow, guild_id, number)

            try:
                done = await self._transactions.run(refund)
            except Exception:  # one market's failure must not hold back the others, nor the rest of the pass
                logger.exception("stale market not refunded", extra={"fields": {"number": number}})
                continue
            if done is not None:
                refunded.append((guild_id, number))
        return refunded

    async def remind_refunds(self, now: datetime) -> int:
        return await self._transactions.run(lambda uow: refunds.remind_refunds(uow, now))

    async def close_expired_markets(self, now: datetime) -> list[tuple[int, int]]:
        return await self._transactions.run(lambda uow: markets.close_expired_markets(uow, now))

    async def announce_closing(self, now: datetime) -> int:
        return await self._transactions.run(lambda uow: markets.announce_closing(uow, now))

    async def forget_followups(self, now: datetime, limit: int) -> int:
        """Forget one batch of interaction tokens that have expired."""

        async def purge(uow: UnitOfWork) -> int:
            purged = await uow.messages.forget_expired(now, limit)
            await uow.commit()
            return purged

        return await self._transactions.run(purge)

    async def forget_interactions(self, before: datetime, limit: int) -> int:
        """Purge one batch of interaction records older than the retention (they only answer redeliveries)."""

        async def purge(uow: UnitOfWork) -> int:
            purged = await uow.records.purge(before, limit)
            await uow.commit()
            return purged

        return await self._transactions.run(purge)
