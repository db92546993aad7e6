"""Servers and their settings, read through the process's cache (`Database.guild_settings`): a server's
settings are read by nearly every interaction and change only through `/admin config`. The change drops its
server's entry at once (and the `guild.settings_changed` event drops it in the process that delivers it);
elsewhere an entry lives at most its TTL. A transaction that changed or created a server's row reads it from
the table, and caches it only once committed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.domain.guild import DEFAULTS, SETTING_NAMES, GuildSettings
from app.domain.ledger import AccountKind
from app.persistence.cache import TtlCache
from app.persistence.session import Session
from app.persistence.sql import insert_ignoring_conflicts
from models.schema import accounts, guilds

_SETTINGS = sa.select(*(guilds.c[name] for name in ("id", *SETTING_NAMES))).where(
    guilds.c.id == sa.bindparam("guild_id")
)


def _settings(row: Mapping[Any, Any]) -> GuildSettings:
    return GuildSettings(guild_id=int(row["id"]), **{name: row[name] for name in SETTING_NAMES})


class SqlGuilds:
    def __init__(self, session: Session, cache: TtlCache[int, GuildSettings] | None = None) -> None:
        self._session = session
        self._cache = cache
        self._changed: set[int] = set()  # servers this transaction changed or created: read from the table

    async def find(self, guild_id: int) -> GuildSettings | None:
        cache = self._cache if guild_id not in self._changed else None
        if cache is not None and (cached := cache.get(guild_id)) is not None:
            return cached
        row = (await self._session.conn.execute(_SETTINGS, {"guild_id": guild_id})).mappings().first()
        if row is None:
            return None
        found = _settings(row)
        if cache is not None:
            cache.put(guild_id, found)
        return found

    async def get(self, guild_id: int) -> GuildSettings:
        found = await self.find(guild_id)
        if found is not None:
            return found
        session = self._session
        self._changed.add(guild_id)  # created here: cached only once committed (a read rolls it back)
        defaults = {name: getattr(DEFAULTS, name) for name in SETTING_NAMES}
        await session.conn.execute(
            insert_ignoring_conflicts(guilds, session.dialect).values(
                id=guild_id, next_market_number=1, created_at=session.now, **defaults
            )
        )
        await session.conn.execute(
            insert_ignoring_conflicts(accounts, session.dialect).values(
                guild_id=guild_id, kind=AccountKind.HOUSE.value, balance=0, created_at=session.now
            )
        )
        created = await self.find(guild_id)
        assert created is not None
        return created

    async def update(self, guild_id: int, changes: Mapping[str, Any]) -> None:
        self._changed.add(guild_id)
        self.forget(guild_id)
        await self._session.conn.execute(sa.update(guilds).where(guilds.c.id == guild_id).values(**changes))

    def committed(self) -> None:
        """The transaction committed: drop what it changed once more (another transaction may have cached the
        old row between the change and the commit)."""
        for guild_id in self._changed:
            self.forget(guild_id)
        self._changed.clear()

    def forget(self, guild_id: int) -> None:
        """Drop the cached settings of a server (its settings changed, perhaps in another process)."""
        if self._cache is not None:
            self._cache.forget(guild_id)

    async def take_market_number(self, guild_id: int) -> int:
        number = await self._session.conn.scalar(
            sa.update(guilds)
            .where(guilds.c.id == guild_id)
            .values(next_market_number=guilds.c.next_market_number + 1)
            .returning(guilds.c.next_market_number - 1)
        )
        return int(number)
