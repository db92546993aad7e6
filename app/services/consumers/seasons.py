"""Deferred season starts: a start acknowledged at once (a server with many members) is done here, as the
manager who asked, and its reply finished by editing the interaction's original response.

It runs once: it is recorded under a key derived from the request's event (`work_key`, kept past the
interactions' retention), so a redelivered or retried event gets the recorded result and resets nobody twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from app.domain.actor import Actor
from app.domain.errors import HunchError
from app.domain.events import StoredEvent
from app.services.consumers.deferred import work_key
from app.services.delivery import Board, HoldOff, MessageGone, Postpone
from app.services.ports import Transactions, UnitOfWork
from app.services.record_results import SeasonStart
from app.services.rows import Followup
from app.services.use_cases import UseCases

SHOWN = 10  # the ended season's standings the reply lists


class DeferredSeasonStarts:
    name = "deferred_season_starts"
    types = frozenset({"guild.season_start_requested"})
    replayable = False  # it moves points

    def __init__(
        self, transactions: Transactions, use_cases: UseCases, board: Board, clock: Callable[[], datetime]
    ) -> None:
        self._transactions = transactions
        self._use_cases = use_cases
        self._board = board
        self._clock = clock

    async def flush(self) -> None:
        return None  # it writes as it goes

    async def __call__(self, event: StoredEvent) -> None:
        payload = event.current_payload()
        actor = Actor(
            guild_id=event.guild_id,
            user_id=int(payload["user_id"]),
            is_manager=bool(payload["is_manager"]),
            interaction_id=work_key(event),
            channel_id=payload.get("channel_id"),
        )
        outcome: SeasonStart | str
        try:
            started = await self._use_cases.start_season(actor, str(payload["name"]) or None, SHOWN)
            assert isinstance(started, SeasonStart), "a season start without a reply to finish is never deferred"
            outcome = started
        except HunchError as refused:  # e.g. another start took the name meanwhile
            outcome = refused.message
        interaction_id = event.interaction_id

        async def followup(uow: UnitOfWork) -> Followup | None:
            return await uow.messages.followup(interaction_id, uow.now) if interaction_id is not None else None

        found = await self._transactions.run(followup)
        if found is None:  # the token expired: the season started all the same (the event and audit say so)
            return
        try:
            await self._board.finish_season(found, outcome)
        except MessageGone:
            return
        except HoldOff as wait:
            raise Postpone(self._clock() + timedelta(seconds=wait.seconds), wait.reason) from None
