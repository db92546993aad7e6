"""Deferred work: a settlement (or an unresolve) acknowledged at once (a market with many holders) is done here,
and its reply finished by editing the interaction's original response.

The settlement runs as the member who asked, once: it is recorded under a key derived from the request's event
(an interaction id of its own), so a redelivered event gets the recorded summary and pays nobody twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.domain.actor import Actor
from app.domain.errors import HunchError
from app.domain.events import StoredEvent
from app.domain.market import as_utc
from app.services.consumers.notifications import nonce
from app.services.delivery import Board, HoldOff, MessageGone, Postpone
from app.services.ports import Transactions, UnitOfWork
from app.services.results import Settlement, Unresolved
from app.services.rows import Followup
from app.services.settlement import SettlementKind
from app.services.use_cases import UseCases


def work_key(event: StoredEvent) -> int:
    """The idempotency key of the work an event asks for: negative, so it is no interaction's snowflake, and
    its record outlives the interactions' retention (the purge keeps negative keys): an event retried however
    late finds it."""
    return -int(event.id.replace("-", "")[:15], 16)


def requester(event: StoredEvent) -> Actor:
    """The member who asked for the work, acting under the work's own key."""
    payload = event.current_payload()
    return Actor(
        guild_id=event.guild_id,
        user_id=int(payload["user_id"]),
        is_manager=bool(payload["is_manager"]),
        role_ids=frozenset(int(r) for r in payload.get("role_ids", ())),
        interaction_id=work_key(event),
        channel_id=payload.get("channel_id"),
    )


class DeferredWork:
    """What every consumer of acknowledged work shares: it moves points (so it is never replayed), writes as it
    goes, and finishes the member's reply by editing the interaction's original response while its token lasts."""

    replayable = False

    def __init__(
        self, transactions: Transactions, use_cases: UseCases, board: Board, clock: Callable[[], datetime]
    ) -> None:
        self._transactions = transactions
        self._use_cases = use_cases
        self._board = board
        self._clock = clock

    async def flush(self) -> None:
        return None

    async def _followup(self, event: StoredEvent) -> Followup | None:
        """The reply to finish, or None once the interaction's token has expired."""
        interaction_id = event.interaction_id

        async def followup(uow: UnitOfWork) -> Followup | None:
            return await uow.messages.followup(interaction_id, uow.now) if interaction_id is not None else None

        return await self._transactions.run(followup)

    async def _deliver(self, send: Awaitable[object]) -> None:
        """Send to Discord: a message it says is gone is let go; a hold-off postpones the event."""
        try:
            await send
        except MessageGone:
            return
        except HoldOff as wait:
            raise Postpone(self._clock() + timedelta(seconds=wait.seconds), wait.reason) from None


class DeferredSettlements(DeferredWork):
    name = "deferred_settlements"
    types = frozenset({"market.settlement_requested"})

    async def __call__(self, event: StoredEvent) -> None:
        payload = event.current_payload()
        actor = requester(event)
        outcome: Settlement | Unresolved | str
        kind, number, argument = SettlementKind(payload["kind"]), int(payload["number"]), str(payload["argument"])
        try:
            if kind is SettlementKind.UNRESOLVE:
                asked = payload.get("requested_at")
                requested_at = as_utc(datetime.fromisoformat(asked)) if asked else event.occurred_at
                outcome = await self._use_cases.unresolve(actor, number, argument, requested_at)
            else:
                outcome = await self._use_cases.settle(actor, number, kind, argument)
        except HunchError as refused:  # e.g. someone settled the market meanwhile
            outcome = refused.message
        found = await self._followup(event)
        if found is None:  # the token expired before we got here: the summary goes to the channel instead
            if not isinstance(outcome, str) and actor.channel_id is not None:
                await self._post(actor.channel_id, outcome, event)
            return
        await self._deliver(self._board.finish(found, outcome))

    async def _post(self, channel_id: int, done: Settlement | Unresolved, event: StoredEvent) -> None:
        if isinstance(done, Unresolved):
            await self._deliver(self._board.post_unresolved(channel_id, done, nonce(event)))
        else:
            await self._deliver(self._board.post_settlement(channel_id, done, nonce(event)))
