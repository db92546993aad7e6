"""Servers and their settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.domain.guild import DEFAULTS, SETTING_NAMES, GuildSettings
from app.domain.ledger import AccountKind
from app.persistence.session import Session
from app.persistence.sql import insert_ignoring_conflicts
from models.tables import accounts, guilds

_SETTINGS = sa.select(*(guilds.c[name] for name in ("id", *SETTING_NAMES))).where(
    guilds.c.id == sa.bindparam("guild_id")
)


def _settings(row: Mapping[Any, Any]) -> GuildSettings:
    return GuildSettings(guild_id=int(row["id"]), **{name: row[name] for name in SETTING_NAMES})


class SqlGuilds:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def find(self, guild_id: int) -> GuildSettings | None:
        row = (await self._session.conn.execute(_SETTINGS, {"guild_id": guild_id})).mappings().first()
        return _settings(row) if row is not None else None

    async def get(self, guild_id: int) -> GuildSettings:
        found = await self.find(guild_id)
        if found is not None:
            return found
        session = self._session
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
        await self._session.conn.execute(sa.update(guilds).where(guilds.c.id == guild_id).values(**changes))

    async def take_market_number(self, guild_id: int) -> int:
        number = await self._session.conn.scalar(
            sa.update(guilds)
            .where(guilds.c.id == guild_id)
            .values(next_market_number=guilds.c.next_market_number + 1)
            .returning(guilds.c.next_market_number - 1)
        )
        return int(number)
