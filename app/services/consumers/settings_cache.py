"""Settings cache: a server's changed settings are dropped from the cache of the process that delivers the event.

The process that made the change has dropped them already; in the others the entry expires with its TTL.
"""

from __future__ import annotations

from collections.abc import Callable

from app.domain.events import StoredEvent


class ForgetChangedSettings:
    name = "settings_cache"
    types = frozenset({"guild.settings_changed"})
    replayable = True  # it only drops what this process holds

    def __init__(self, forget: Callable[[int], None]) -> None:
        self._forget = forget

    async def flush(self) -> None:
        return None

    async def __call__(self, event: StoredEvent) -> None:
        self._forget(event.guild_id)
