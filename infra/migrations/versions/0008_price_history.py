"""price history

Each market's probabilities over time at a few resolutions (one row per market, resolution and time bucket
in which someone traded), kept by the worker from `trade.executed` events so a chart reads a bounded number
of rows. Markets traded before this revision get theirs from `python -m app events replay --consumer
price_history`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_points",
        sa.Column("market_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("resolution", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("probabilities", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("market_id", "resolution", "bucket"),
    )


def downgrade() -> None:
    op.drop_table("price_points")
