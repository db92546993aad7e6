"""Notifications: a settled market's channel hears the summary, an unresolved one the notice; a market about to
close can be announced; a closed market's creator hears a day before nobody's resolution makes Hunch refund it.

A settlement answered in the market's own channel has already shown its summary there (it was the reply), so
only a settlement made elsewhere (or by Hunch itself) is posted. Posts carry a nonce made from the event's id:
if the worker delivers an event twice, Discord keeps one message.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from app.domain.events import StoredEvent
from app.domain.market import MarketStatus
from app.services.delivery import Board, HoldOff, Postpone
from app.services.ports import Transactions, UnitOfWork
from app.services.queries import show_market
from app.services.results import MarketView, Payout, Settlement, Unresolved

logger = logging.getLogger("hunch.notifications")


def nonce(event: StoredEvent) -> str:
    """Discord allows 25 characters."""
    return hashlib.sha256(event.id.encode()).hexdigest()[:25]


class Notifications:
    name = "notifications"
    types = frozenset(
        {"market.resolved", "market.cancelled", "market.closing_soon", "market.unresolved", "market.refund_due"}
    )
    replayable = False  # it posts messages

    def __init__(self, transactions: Transactions, board: Board, clock: Callable[[], datetime]) -> None:
        self._transactions = transactions
        self._board = board
        self._clock = clock

    async def flush(self) -> None:
        return None  # it writes as it goes

    async def __call__(self, event: StoredEvent) -> None:
        payload = event.current_payload()
        number = int(payload["number"])

        async def read(uow: UnitOfWork) -> tuple[MarketView, bool, bool] | None:
            market = await uow.markets.get(event.guild_id, number)
            if market is None or market.channel_id is None:
                return None
            guild = await uow.guilds.get(event.guild_id)
            view = await show_market(uow, event.guild_id, number)
            return view, guild.mention_winners, guild.announce_closing

        found = await self._transactions.run(read)
        if found is None:
            return
        market, mention_winners, announce_closing = found
        channel_id = market.channel_id
        assert channel_id is not None
        try:
            if event.type == "market.closing_soon":
                sent = announce_closing and await self._board.post_closing_soon(channel_id, market, nonce(event))
            elif event.type == "market.refund_due":
                if market.status != MarketStatus.CLOSED:
                    return  # resolved (or refunded) since: nothing to remind the creator of
                refund_at = datetime.fromisoformat(payload["refund_at"])
                creator = int(payload["creator_id"])
                sent = await self._board.post_refund_reminder(channel_id, market, creator, refund_at, nonce(event))
            elif payload.get("answered_in") == channel_id:
                return  # the member saw the summary there, as the reply to their command
            elif event.type == "market.unresolved":
                unresolved = Unresolved(
                    market=market,
                    undone=payload["undone"],
                    reason=payload["reason"] or None,
                    reclaimed=int(payload["reclaimed"]),
                    shortfall=int(payload["shortfall"]),
                    members=int(payload["members"]),
                )
                sent = await self._board.post_unresolved(channel_id, unresolved, nonce(event))
            else:
                settled = Settlement(
                    market=market,
                    payouts=[Payout(user_id=user, amount=amount) for user, amount in payload["top_payouts"]],
                    paid_count=int(payload["paid_count"]),
                    total_paid=int(payload["total_paid"]),
                    house_return=0,
                    reason=payload["resolution"].get("cancelled"),
                    mention_winners=mention_winners,
                )
                sent = await self._board.post_settlement(channel_id, settled, nonce(event))
        except HoldOff as wait:
            raise Postpone(self._clock() + timedelta(seconds=wait.seconds), wait.reason) from None
        if not sent:
            logger.info("channel notification not posted", extra={"fields": {"event_id": event.id}})
