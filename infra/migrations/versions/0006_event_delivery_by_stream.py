"""event delivery tracked per stream

Delivery state moves off the events (which become immutable) onto their streams: a cursor per stream
(`event_streams.delivered_sequence`), a row per stream with undelivered events (`event_pending`: its lease,
its head's attempts and backoff) and the dead events apart (`event_dead`). Marking a batch delivered was an
update of every event in it (and of three indexes); it is now one update per stream.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_streams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivered_sequence", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "event_pending",
        sa.Column("aggregate_type", sa.String(length=10), nullable=False),
        sa.Column("aggregate_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("aggregate_type", "aggregate_id"),
    )
    with op.batch_alter_table("event_pending", schema=None) as batch_op:
        batch_op.create_index("ix_event_pending_due", ["next_attempt_at"], unique=False)
    op.create_table(
        "event_dead",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("died_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("event_id"),
    )
    with op.batch_alter_table("event_dead", schema=None) as batch_op:
        batch_op.create_index("ix_event_dead_retry", ["retry_at"], unique=False)

    # What was delivered, pending or dead, carried over.
    op.execute(
        "INSERT INTO event_dead (event_id, attempts, last_error, died_at) "
        "SELECT id, attempts, last_error, coalesce(delivered_at, next_attempt_at) FROM events WHERE status = 'dead'"
    )
    op.execute(
        "UPDATE event_streams SET delivered_sequence = coalesce(("
        "SELECT min(e.sequence) - 1 FROM events e WHERE e.aggregate_type = event_streams.aggregate_type "
        "AND e.aggregate_id = event_streams.aggregate_id AND e.status = 'pending'), last_sequence)"
    )
    op.execute(
        "INSERT INTO event_pending (aggregate_type, aggregate_id, next_attempt_at, attempts) "
        "SELECT e.aggregate_type, e.aggregate_id, min(e.next_attempt_at), 0 FROM events e "
        "WHERE e.status = 'pending' GROUP BY e.aggregate_type, e.aggregate_id"
    )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_dead", postgresql_where=sa.text("status = 'dead'"))
        batch_op.drop_index("ix_events_pending", postgresql_where=sa.text("status = 'pending'"))
        batch_op.drop_index("ix_events_occurred_at")
        batch_op.drop_constraint("event_status", type_="check")
        for column in ("status", "attempts", "next_attempt_at", "leased_until", "last_error", "delivered_at"):
            batch_op.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=10), nullable=False, server_default="done"))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")))
        batch_op.add_column(
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())
        )
        batch_op.add_column(sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE events SET status = 'pending' WHERE sequence > (SELECT s.delivered_sequence FROM event_streams s "
        "WHERE s.aggregate_type = events.aggregate_type AND s.aggregate_id = events.aggregate_id)"
    )
    op.execute("UPDATE events SET status = 'dead' WHERE id IN (SELECT event_id FROM event_dead)")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_check_constraint("event_status", "status IN ('pending', 'done', 'dead')")
        batch_op.create_index("ix_events_occurred_at", ["occurred_at"], unique=False)
        batch_op.create_index(
            "ix_events_pending",
            ["aggregate_type", "aggregate_id", "sequence"],
            unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
        batch_op.create_index(
            "ix_events_dead",
            ["occurred_at"],
            unique=False,
            postgresql_where=sa.text("status = 'dead'"),
            sqlite_where=sa.text("status = 'dead'"),
        )
    with op.batch_alter_table("event_dead", schema=None) as batch_op:
        batch_op.drop_index("ix_event_dead_retry")
    op.drop_table("event_dead")
    with op.batch_alter_table("event_pending", schema=None) as batch_op:
        batch_op.drop_index("ix_event_pending_due")
    op.drop_table("event_pending")
    with op.batch_alter_table("event_streams", schema=None) as batch_op:
        batch_op.drop_column("delivered_sequence")
