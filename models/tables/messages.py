"""What Hunch keeps to talk to Discord later: interactions' tokens while they are valid, and where each
market's public message is, so the worker keeps it up to date."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.tables.columns import big, table, time


class Followup(SQLModel, table=True):
    """An interaction's token (a secret for 15 minutes): lets the worker read, edit or finish its reply. Never
    logged, never in an event; purged once expired."""

    __tablename__ = "followups"

    interaction_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    application_id: int = big()
    token: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    expires_at: datetime = time()

    __table_args__ = (sa.Index("ix_followups_expires_at", "expires_at"),)


class MarketMessage(SQLModel, table=True):
    """A market's public message and how up to date it is."""

    __tablename__ = "market_messages"

    market_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    channel_id: int = big()
    message_id: int | None = big(nullable=True)
    interaction_id: int | None = big(nullable=True)  # the interaction that posted it (its followup)
    stale_since: datetime | None = time(nullable=True)  # set when the market changed after the last edit
    changes: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))  # changes of the market
    drawn_changes: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))  # ... in the drawing
    edited_at: datetime | None = time(nullable=True)
    hold_until: datetime | None = time(nullable=True)  # Discord asked us to wait (rate limits, old-message edits)
    gone: bool = Field(default=False, sa_column=sa.Column(sa.Boolean(), nullable=False))

    __table_args__ = (
        sa.Index(
            "ix_market_messages_stale",
            "stale_since",
            postgresql_where=sa.text("stale_since IS NOT NULL AND NOT gone"),
            sqlite_where=sa.text("stale_since IS NOT NULL AND NOT gone"),
        ),
    )


followups = table(Followup)
market_messages = table(MarketMessage)
