"""The event log (the outbox the worker drains) and where its delivery stands.

Events are immutable once written. Delivery is tracked per stream, not per event: each aggregate's stream
has a cursor (`event_streams.delivered_sequence`), a stream with undelivered events has a row in
`event_pending` (its lease, its head's failed attempts and backoff), and an event that exhausted its attempts
is set aside in `event_dead` while its stream goes on. Marking a batch delivered is one update per stream, so
a hot market's two hundred trades cost the worker one write, and no index fills with dead entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain.events import AggregateType
from models.tables.columns import big, one_of, table, time


class Event(SQLModel, table=True):
    """One domain event, written in the transaction of the change it records."""

    __tablename__ = "events"

    id: str = Field(sa_column=sa.Column(sa.String(36), primary_key=True))  # time-ordered: newest sorts last
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

    __table_args__ = (
        sa.CheckConstraint(one_of("aggregate_type", AggregateType), name="event_aggregate_type"),
        sa.UniqueConstraint("aggregate_type", "aggregate_id", "sequence", name="ux_events_stream_sequence"),
    )


class EventStream(SQLModel, table=True):
    """Each aggregate's stream: the last sequence number given, and how far delivery has come."""

    __tablename__ = "event_streams"

    aggregate_type: str = Field(sa_column=sa.Column(sa.String(10), primary_key=True))
    aggregate_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    last_sequence: int = big()
    delivered_sequence: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default=sa.text("0"))
    )


class EventPending(SQLModel, table=True):
    """A stream with events to deliver: who holds it, and when its head may be tried again."""

    __tablename__ = "event_pending"

    aggregate_type: str = Field(sa_column=sa.Column(sa.String(10), primary_key=True))
    aggregate_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    next_attempt_at: datetime = time()
    leased_until: datetime | None = time(nullable=True)
    attempts: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))  # of the stream's head
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))

    __table_args__ = (sa.Index("ix_event_pending_due", "next_attempt_at"),)


class EventDead(SQLModel, table=True):
    """An event whose delivery failed every attempt; `retry_at` set when an operator re-drives it."""

    __tablename__ = "event_dead"

    event_id: str = Field(sa_column=sa.Column(sa.String(36), sa.ForeignKey("events.id"), primary_key=True))
    attempts: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    died_at: datetime = time()
    retry_at: datetime | None = time(nullable=True)
    leased_until: datetime | None = time(nullable=True)

    __table_args__ = (sa.Index("ix_event_dead_retry", "retry_at"),)


events = table(Event)
event_streams = table(EventStream)
event_pending = table(EventPending)
event_dead = table(EventDead)
