"""Each market's prices over time (`price_points`): written by the worker's projection, read by charts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.domain.market import as_utc
from app.domain.price_history import BucketPoint, PricePoint
from app.persistence.session import Session
from models.schema import price_points

_p = sa.bindparam
_c = price_points.c


@cache
def _keep(dialect: str) -> Any:
    """Insert a point, or replace its bucket's point when this one is later in the market's stream."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement: Any = postgresql.insert(price_points)
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(price_points)
    return statement.on_conflict_do_update(
        index_elements=[_c.market_id, _c.resolution, _c.bucket],
        set_={
            "at": statement.excluded.at,
            "sequence": statement.excluded.sequence,
            "probabilities": statement.excluded.probabilities,
        },
        where=_c.sequence < statement.excluded.sequence,
    )


def _points(market_id: Any, resolution: Any) -> sa.Select[Any]:
    return sa.select(_c.at, _c.probabilities).where(_c.market_id == market_id, _c.resolution == resolution)


_FROM = (
    _points(_p("chart_market_id"), _p("chart_resolution"))
    .where(_c.bucket >= _p("chart_from"), _c.bucket <= _p("chart_to"))
    .order_by(_c.bucket.desc())
    .limit(_p("chart_limit"))
)
_BEFORE = (
    _points(_p("chart_market_id"), _p("chart_resolution"))
    .where(_c.bucket < _p("chart_from"))
    .order_by(_c.bucket.desc())
    .limit(1)
)


def _point(row: Mapping[Any, Any]) -> PricePoint:
    return PricePoint(as_utc(row["at"]), tuple(float(p) for p in row["probabilities"]))


class SqlPriceHistory:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def keep(self, market_id: int, points: Sequence[BucketPoint]) -> None:
        if not points:
            return
        rows = [
            {
                "market_id": market_id,
                "resolution": p.resolution,
                "bucket": p.bucket,
                "at": p.point.at,
                "sequence": p.sequence,
                "probabilities": list(p.point.probabilities),
            }
            for p in points
        ]
        await self._session.conn.execute(_keep(self._session.dialect), rows)

    async def read(
        self, market_id: int, resolution: int, first_bucket: datetime, end: datetime, limit: int
    ) -> tuple[PricePoint | None, list[PricePoint]]:
        params = {
            "chart_market_id": market_id,
            "chart_resolution": resolution,
            "chart_from": first_bucket,
            "chart_to": end,
            "chart_limit": limit,
        }
        conn = self._session.conn
        rows = (await conn.execute(_FROM, params)).mappings().all()
        before = (await conn.execute(_BEFORE, params)).mappings().first()
        return (_point(before) if before else None), [_point(row) for row in reversed(rows)]
