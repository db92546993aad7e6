"""Interaction records: what each state-changing interaction returned (idempotency)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.persistence.session import Session
from app.persistence.sql import any_of
from models.schema import interaction_records


@cache
def _recorded(dialect: str) -> sa.Select[Any]:
    return sa.select(interaction_records.c.id, interaction_records.c.result).where(
        any_of(interaction_records.c.id, "recorded_ids", dialect)
    )


class SqlRecords:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def find(self, interaction_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        wanted = sorted(set(interaction_ids))
        if not wanted:
            return {}
        rows = await self._session.conn.execute(_recorded(self._session.dialect), {"recorded_ids": wanted})
        return {int(key): result for key, result in rows}

    async def purge(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest records of interactions made before `before`; how many. On Postgres
        rows another transaction holds are skipped, so a purge never waits on a request.

        Only interactions' records go (Discord's ids are positive). The worker's deferred work (a settlement, an
        unresolve, a season start) is recorded under its event's work key, negative, and kept: it is what stops
        that work applying again when its event is retried, however long after."""
        oldest = (
            sa.select(interaction_records.c.id)
            .where(interaction_records.c.created_at < before, interaction_records.c.id > 0)
            .order_by(interaction_records.c.created_at)
            .limit(limit)
        )
        if self._session.dialect == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        doomed = sa.delete(interaction_records).where(interaction_records.c.id.in_(oldest.scalar_subquery()))
        result = await self._session.conn.execute(doomed)
        return int(result.rowcount)
