"""The event log (the outbox the worker drains) and each aggregate's stream of sequence numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain.events import AggregateType, EventStatus
from models.tables.columns import big, one_of, table, time


class Event(SQLModel, table=True):
    """One domain event, written in the transaction of the change it records, and its delivery."""

    __tablename__ = "events"

    id: str = Field(sa_column=sa.Column(sa.String(36), primary_key=True))
    guild_id: int = big()
    type: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    version: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    aggregate_type: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    aggregate_id: int = big()
    sequence: int = big()
    occurred_at: datetime = time()
    actor_id: int = big()
    interaction_id: int | None = big(nullable=True)
    payload: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    attempts: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    next_attempt_at: datetime = time()
    leased_until: datetime | None = time(nullable=True)
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    delivered_at: datetime | None = time(nullable=True)

    __table_args__ = (
        sa.CheckConstraint(one_of("aggregate_type", AggregateType), name="event_aggregate_type"),
        sa.CheckConstraint(one_of("status", EventStatus), name="event_status"),
        sa.UniqueConstraint("aggregate_type", "aggregate_id", "sequence", name="ux_events_stream_sequence"),
        # What the worker looks at: the undelivered events of each stream, in order.
        sa.Index(
            "ix_events_pending",
            "aggregate_type",
            "aggregate_id",
            "sequence",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_events_occurred_at", "occurred_at"),
        # What an operator looks at: the dead ones, newest first.
        sa.Index(
            "ix_events_dead",
            "occurred_at",
            postgresql_where=sa.text("status = 'dead'"),
            sqlite_where=sa.text("status = 'dead'"),
        ),
    )


class EventStream(SQLModel, table=True):
    """The last sequence number given in each aggregate's stream."""

    __tablename__ = "event_streams"

    aggregate_type: str = Field(sa_column=sa.Column(sa.String(10), primary_key=True))
    aggregate_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    last_sequence: int = big()


events = table(Event)
event_streams = table(EventStream)
