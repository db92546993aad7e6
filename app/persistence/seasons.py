"""Seasons and their final standings. The snapshot of the standings is one `INSERT … SELECT` over the
server's member accounts, staged with the reset of their balances so both read the same balances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.domain.ledger import AccountKind
from app.domain.seasons import FIRST_SEASON, Season, default_name, name_key
from app.persistence.session import Session
from models.schema import accounts, guilds, season_standings, seasons

_p = sa.bindparam
_COLUMNS = (seasons.c.id, seasons.c.number, seasons.c.name, seasons.c.started_at, seasons.c.ended_at)
_MEMBERS = sa.and_(accounts.c.guild_id == _p("members_guild_id"), accounts.c.kind == AccountKind.MEMBER.value)
_LOCKED = sa.select(sa.func.count()).select_from(
    sa.select(accounts.c.id).where(_MEMBERS).order_by(accounts.c.id).with_for_update().subquery("locked")
)
_SNAPSHOT = sa.insert(season_standings).from_select(
    ["season_id", "position", "user_id", "balance"],
    sa.select(
        _p("snapshot_season_id", type_=sa.BigInteger()),
        sa.func.row_number().over(order_by=(accounts.c.balance.desc(), accounts.c.id)),
        accounts.c.user_id,
        accounts.c.balance,
    ).where(accounts.c.guild_id == _p("snapshot_guild_id"), accounts.c.kind == AccountKind.MEMBER.value),
)


def _season(row: Any) -> Season:
    return Season(int(row[0]), int(row[1]), str(row[2]), row[3], row[4])


class SqlSeasons:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def current(self, guild_id: int) -> Season:
        conn = self._session.conn
        query = sa.select(*_COLUMNS).where(seasons.c.guild_id == guild_id).order_by(seasons.c.number.desc()).limit(1)
        row = (await conn.execute(query)).first()
        if row is not None:
            return _season(row)
        created = await conn.scalar(sa.select(guilds.c.created_at).where(guilds.c.id == guild_id))
        return Season(None, FIRST_SEASON, default_name(FIRST_SEASON), created or self._session.now)

    async def find_ended(self, guild_id: int, key: str) -> Season | None:
        query = sa.select(*_COLUMNS).where(
            seasons.c.guild_id == guild_id, seasons.c.name_key == key, seasons.c.ended_at.is_not(None)
        )
        row = (await self._session.conn.execute(query)).first()
        return _season(row) if row is not None else None

    async def search_ended(self, guild_id: int, typed_key: str, limit: int) -> list[Season]:
        query = sa.select(*_COLUMNS).where(seasons.c.guild_id == guild_id, seasons.c.ended_at.is_not(None))
        if typed_key:
            query = query.where(seasons.c.name_key.contains(typed_key, autoescape=True))
        query = query.order_by(seasons.c.number.desc()).limit(limit)
        return [_season(row) for row in await self._session.conn.execute(query)]

    async def name_taken(self, guild_id: int, key: str) -> bool:
        query = sa.select(seasons.c.id).where(seasons.c.guild_id == guild_id, seasons.c.name_key == key)
        return (await self._session.conn.scalar(query)) is not None

    async def member_count(self, guild_id: int) -> int:
        query = sa.select(sa.func.count()).select_from(accounts).where(_MEMBERS)
        return int(await self._session.conn.scalar(query, {"members_guild_id": guild_id}) or 0)

    async def lock_members(self, guild_id: int) -> int:
        return int(await self._session.conn.scalar(_LOCKED, {"members_guild_id": guild_id}) or 0)

    async def end(self, guild_id: int, season: Season, now: datetime, by_user_id: int) -> int:
        conn = self._session.conn
        if season.id is not None:
            await conn.execute(
                sa.update(seasons).where(seasons.c.id == season.id).values(ended_at=now, ended_by=by_user_id)
            )
            return season.id
        created = await conn.scalar(
            sa.insert(seasons)
            .values(
                guild_id=guild_id,
                number=season.number,
                name=season.name,
                name_key=name_key(season.name),
                started_at=season.started_at,
                ended_at=now,
                ended_by=by_user_id,
            )
            .returning(seasons.c.id)
        )
        return int(created)

    def snapshot(self, guild_id: int, season_id: int) -> None:
        self._session.writes.statement(_SNAPSHOT, {"snapshot_season_id": season_id, "snapshot_guild_id": guild_id})

    async def begin(self, guild_id: int, number: int, name: str, now: datetime) -> None:
        await self._session.conn.execute(
            sa.insert(seasons).values(
                guild_id=guild_id, number=number, name=name, name_key=name_key(name), started_at=now
            )
        )

    async def standings(self, season_id: int, limit: int) -> list[tuple[int, int]]:
        query = (
            sa.select(season_standings.c.user_id, season_standings.c.balance)
            .where(season_standings.c.season_id == season_id)
            .order_by(season_standings.c.position)
            .limit(limit)
        )
        return [(int(u), int(b)) for u, b in await self._session.conn.execute(query)]
