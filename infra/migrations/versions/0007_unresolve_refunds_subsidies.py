"""unresolve, stale refunds and subsidies

Two server settings (how long a creator may unresolve their market, when a closed market nobody resolves is
refunded), the market maker's shift a subsidy leaves on a market, when a market's creator was reminded of its
refund, whether a market was closed only because a settlement was asked for, the transfer reasons of a reversed
settlement and a partial index of each market's settlement transfers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_REASONS = (
    "starting_grant",
    "daily_bonus",
    "gift",
    "admin_grant",
    "stake",
    "sale",
    "payout",
    "refund",
    "subsidy",
    "house_return",
)
_NEW_REASONS = ("unresolve", "shortfall")
_SETTLEMENT = "reason IN ('payout', 'refund', 'house_return', 'unresolve')"


def _reasons(values: tuple[str, ...]) -> str:
    return f"reason IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("guilds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("unresolve_window_seconds", sa.Integer(), nullable=False, server_default=sa.text("600"))
        )
        batch_op.add_column(
            sa.Column("auto_refund_after_seconds", sa.Integer(), nullable=False, server_default=sa.text("1209600"))
        )
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("maker_shift", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("refund_reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_to_settle", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_constraint("transfer_reason", type_="check")
        batch_op.create_check_constraint("transfer_reason", _reasons(_REASONS + _NEW_REASONS))
        batch_op.create_index(
            "ix_transfers_settlement",
            ["market_id"],
            unique=False,
            postgresql_where=sa.text(_SETTLEMENT),
            sqlite_where=sa.text(_SETTLEMENT),
        )


def downgrade() -> None:
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index("ix_transfers_settlement")
        batch_op.drop_constraint("transfer_reason", type_="check")
        batch_op.create_check_constraint("transfer_reason", _reasons(_REASONS))
    with op.batch_alter_table("markets", schema=None) as batch_op:
        batch_op.drop_column("closed_to_settle")
        batch_op.drop_column("refund_reminded_at")
        batch_op.drop_column("maker_shift")
    with op.batch_alter_table("guilds", schema=None) as batch_op:
        batch_op.drop_column("auto_refund_after_seconds")
        batch_op.drop_column("unresolve_window_seconds")
