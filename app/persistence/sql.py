"""SQL building blocks the repositories share: the two dialects' spellings, and rows as domain objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from app.domain.market import Market, MarketStatus

_ids = sa.BigInteger()


def any_of(column: sa.ColumnElement[Any], name: str, dialect: str) -> sa.ColumnElement[bool]:
    """`column = ANY(:name)` with one array parameter on Postgres (one statement whatever its length, so
    it is prepared once); `column IN (...)` on SQLite."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(name, type_=ARRAY(_ids)))
    return column.in_(sa.bindparam(name, expanding=True))


def insert_ignoring_conflicts(table: sa.Table, dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing()


def market_from_row(row: Mapping[Any, Any]) -> Market:
    return Market(
        id=int(row["id"]),
        guild_id=int(row["guild_id"]),
        number=int(row["number"]),
        question=row["question"],
        description=row["description"],
        outcomes=tuple(row["outcomes"]),
        shares=tuple(int(q) for q in row["shares"]),
        liquidity=int(row["liquidity"]),
        status=MarketStatus(row["status"]),
        creator_id=int(row["creator_id"]),
        channel_id=row["channel_id"],
        pool_account_id=int(row["pool_account_id"] or 0),  # 0: none (verify-ledger reports it)
        volume=int(row["volume"]),
        trade_count=int(row["trade_count"]),
        closes_at=row["closes_at"],
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        settled_at=row["settled_at"],
        resolution=row["resolution"],
        total_paid=row["total_paid"],
        shift=tuple(int(s) for s in row["maker_shift"] or ()),
        closed_to_settle=bool(row["closed_to_settle"]),
        refund_reminded_at=row["refund_reminded_at"],
    )
