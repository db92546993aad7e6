"""Where markets are shown (`market_messages`) and the interactions' tokens (`followups`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.domain.market import as_utc
from app.persistence.session import Session
from app.persistence.sql import insert_ignoring_conflicts
from app.services.rows import Followup, MarketMessage
from models.schema import followups, market_messages, markets

_MESSAGE = sa.select(market_messages, markets.c.guild_id, markets.c.number).join(
    markets, markets.c.id == market_messages.c.market_id
)


def _message(row: Mapping[Any, Any]) -> MarketMessage:
    return MarketMessage(
        market_id=int(row["market_id"]),
        guild_id=int(row["guild_id"]),
        number=int(row["number"]),
        channel_id=int(row["channel_id"]),
        message_id=row["message_id"],
        interaction_id=row["interaction_id"],
        changes=int(row["changes"]),
        edited_at=as_utc(row["edited_at"]) if row["edited_at"] else None,
    )


class SqlMessages:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def keep(self, followup: Followup) -> None:
        await self._session.conn.execute(
            insert_ignoring_conflicts(followups, self._session.dialect).values(
                interaction_id=followup.interaction_id,
                application_id=followup.application_id,
                token=followup.token,
                expires_at=followup.expires_at,
            )
        )

    async def followup(self, interaction_id: int, now: datetime) -> Followup | None:
        row = (
            (
                await self._session.conn.execute(
                    sa.select(followups).where(
                        followups.c.interaction_id == interaction_id, followups.c.expires_at > now
                    )
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Followup(
            int(row["interaction_id"]), int(row["application_id"]), str(row["token"]), as_utc(row["expires_at"])
        )

    async def show(self, market_id: int, channel_id: int, interaction_id: int) -> None:
        await self._session.conn.execute(
            insert_ignoring_conflicts(market_messages, self._session.dialect).values(
                market_id=market_id,
                channel_id=channel_id,
                interaction_id=interaction_id,
                gone=False,
                changes=0,
                drawn_changes=0,
            )
        )

    async def of_market(self, market_id: int) -> MarketMessage | None:
        query = _MESSAGE.where(market_messages.c.market_id == market_id)
        row = (await self._session.conn.execute(query)).mappings().first()
        return _message(row) if row is not None else None

    async def learned(self, market_id: int, message_id: int) -> None:
        await self._update(market_id, message_id=message_id)

    async def fell_behind(self, market_id: int, since: datetime, changes: int = 1) -> None:
        await self._session.conn.execute(
            sa.update(market_messages)
            .where(market_messages.c.market_id == market_id, sa.not_(market_messages.c.gone))
            .values(
                changes=market_messages.c.changes + changes,
                stale_since=sa.func.coalesce(market_messages.c.stale_since, since),
            )
        )

    async def due(self, before: datetime, now: datetime, limit: int) -> list[MarketMessage]:
        query = (
            _MESSAGE.where(
                market_messages.c.stale_since.is_not(None),
                sa.not_(market_messages.c.gone),
                sa.or_(market_messages.c.edited_at.is_(None), market_messages.c.edited_at <= before),
                sa.or_(market_messages.c.hold_until.is_(None), market_messages.c.hold_until <= now),
            )
            .order_by(market_messages.c.stale_since)
            .limit(limit)
        )
        return [_message(row) for row in (await self._session.conn.execute(query)).mappings()]

    async def next_due(self, interval_seconds: float) -> datetime | None:
        row = (
            await self._session.conn.execute(
                sa.select(market_messages.c.edited_at, market_messages.c.hold_until, market_messages.c.stale_since)
                .where(market_messages.c.stale_since.is_not(None), sa.not_(market_messages.c.gone))
                .order_by(sa.func.coalesce(market_messages.c.edited_at, market_messages.c.stale_since))
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        edited_at, hold_until, stale_since = row
        due = as_utc(edited_at) + timedelta(seconds=interval_seconds) if edited_at is not None else as_utc(stale_since)
        return max(due, as_utc(hold_until)) if hold_until is not None else due

    async def edited(self, market_id: int, now: datetime, drawn_changes: int) -> None:
        # A change told of since the drawing was read keeps the message behind.
        await self._session.conn.execute(
            sa.update(market_messages)
            .where(market_messages.c.market_id == market_id)
            .values(
                edited_at=now,
                hold_until=None,
                drawn_changes=drawn_changes,
                stale_since=sa.case(
                    (market_messages.c.changes > drawn_changes, market_messages.c.stale_since), else_=None
                ),
            )
        )

    async def hold(self, market_id: int, until: datetime) -> None:
        await self._update(market_id, hold_until=until)

    async def gone(self, market_id: int) -> None:
        await self._update(market_id, gone=True, stale_since=None)

    async def forget_expired(self, now: datetime, limit: int) -> int:
        doomed = sa.select(followups.c.interaction_id).where(followups.c.expires_at <= now).limit(limit)
        result = await self._session.conn.execute(
            sa.delete(followups).where(followups.c.interaction_id.in_(doomed.scalar_subquery()))
        )
        return int(result.rowcount)

    async def _update(self, market_id: int, **values: Any) -> None:
        await self._session.conn.execute(
            sa.update(market_messages).where(market_messages.c.market_id == market_id).values(**values)
        )
