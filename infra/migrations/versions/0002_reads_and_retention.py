"""reads that scale and bounded storage

The leaderboard index in the leaderboard's order (balance descending, then id), so the top of a server
with 100,000 members is read off the index; and interaction records by age, for the retention purge.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_leaderboard")
        batch_op.create_index(
            "ix_accounts_leaderboard", ["guild_id", "kind", sa.literal_column("balance").desc(), "id"], unique=False
        )
    with op.batch_alter_table("interaction_records", schema=None) as batch_op:
        batch_op.create_index("ix_interaction_records_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interaction_records", schema=None) as batch_op:
        batch_op.drop_index("ix_interaction_records_created_at")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_leaderboard")
        batch_op.create_index("ix_accounts_leaderboard", ["guild_id", "kind", "balance"], unique=False)
