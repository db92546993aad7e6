"""Deferred season starts: a start acknowledged at once (a server with many members) is done here, as the
manager who asked, and its reply finished by editing the interaction's original response.

It runs once: it is recorded under a key derived from the request's event (`work_key`, kept past the
interactions' retention), so a redelivered or retried event gets the recorded result and resets nobody twice.
"""

from __future__ import annotations

from app.domain.errors import HunchError
from app.domain.events import StoredEvent
from app.services.consumers.deferred import DeferredWork, requester
from app.services.record_results import SeasonStart

SHOWN = 10  # the ended season's standings the reply lists


class DeferredSeasonStarts(DeferredWork):
    name = "deferred_season_starts"
    types = frozenset({"guild.season_start_requested"})

    async def __call__(self, event: StoredEvent) -> None:
        outcome: SeasonStart | str
        try:
            name = str(event.current_payload()["name"]) or None
            started = await self._use_cases.start_season(requester(event), name, SHOWN)
            assert isinstance(started, SeasonStart), "a season start without a reply to finish is never deferred"
            outcome = started
        except HunchError as refused:  # e.g. another start took the name meanwhile
            outcome = refused.message
        found = await self._followup(event)
        if found is None:  # the token expired: the season started all the same (the event and audit say so)
            return
        await self._deliver(self._board.finish_season(found, outcome))
