"""live market messages, deferred replies and notifications

Interactions' tokens while they are valid (followups), where each market's message is (market_messages), the
servers' notification settings, and when a market's closing was announced.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("interaction_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("interaction_id"),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index("ix_followups_expires_at", ["expires_at"], unique=False)
    op.create_table(
        "market_messages",
        sa.Column("market_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("interaction_id", sa.BigInteger(), nullable=True),
        sa.Column("stale_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("drawn_changes", sa.Integer(), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gone", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("market_id"),
    )
    with op.batch_alter_table("market_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_market_messages_stale",
            ["stale_since"],
            unique=False,
            postgresql_where=sa.text("stale_since IS NOT NULL AND NOT gone"),
            sqlite_where=sa.text("stale_since IS NOT NULL AND NOT gone"),
        )
    with op.batch_alter_table("guilds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mention_winners", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("announce_closing", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closing_announced_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.drop_column("closing_announced_at")
    with op.batch_alter_table("guilds", schema=None) as batch_op:
        batch_op.drop_column("announce_closing")
        batch_op.drop_column("mention_winners")
    with op.batch_alter_table("market_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_market_messages_stale", postgresql_where=sa.text("stale_since IS NOT NULL AND NOT gone"))
    op.drop_table("market_messages")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_expires_at")
    op.drop_table("followups")
