"""What each request leaves behind: its record (idempotency), its audit row, its rate-limit hits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.tables.columns import BigId, big, metadata, pk, table, time


class InteractionRecord(SQLModel, table=True):
    """Idempotency: the outcome of each state-changing interaction, written in the same transaction."""

    __tablename__ = "interaction_records"

    id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    guild_id: int | None = big(nullable=True)
    user_id: int | None = big(nullable=True)
    action: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    result: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    created_at: datetime = time()

    __table_args__ = (sa.Index("ix_interaction_records_created_at", "created_at"),)  # the retention purge


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = pk()
    guild_id: int = big()
    actor_id: int = big()
    action: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    market_id: int | None = big(nullable=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    interaction_id: int | None = big(nullable=True)
    created_at: datetime = time()

    __table_args__ = (sa.Index("ix_audit_guild", "guild_id", "id"),)


interaction_records = table(InteractionRecord)
audit_events = table(AuditEvent)

rate_limit_hits = sa.Table(
    "rate_limit_hits",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.Text(), nullable=False),
    sa.Column("hit_at_ms", sa.BigInteger(), nullable=False),
    # hit_at_ms + the window in force when recorded: lets the purge clear any key's rows.
    sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
    sa.Index("ix_rate_limit_hits_key_hit_at_ms", "key", "hit_at_ms"),
    sa.Index("ix_rate_limit_hits_expires_at_ms", "expires_at_ms"),
)

# Postgres: how many rows each key has in `rate_limit_hits`, kept by the limiter's functions (migration 0005),
# so a hit counts in O(1) and the key's row is the one lock a hit takes, for one statement.
rate_limit_keys = sa.Table(
    "rate_limit_keys",
    metadata,
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("live", sa.Integer(), nullable=False),
)
