"""forecasting records and seasons

Each member's result in each resolved market (`market_results`) and the record they sum to
(`member_records`, indexed in the orders the leaderboards by profit and by accuracy read); the servers'
seasons and each finished season's final standings; the transfer reason of a season's reset; and the trades'
index by market and account (replacing the one by market and id), from which each member's last trade in a
market is read when it resolves.

Markets resolved before this migration have no results: records count the markets resolved after it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
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
    "unresolve",  # 0007
    "shortfall",  # 0007
)
_SEASON_RESET = "season_reset"


def _reasons(*reasons: str) -> str:
    return "reason IN (" + ", ".join(f"'{r}'" for r in reasons) + ")"


def _set_reasons(*reasons: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("transfer_reason", "transfers", type_="check")
        op.create_check_constraint("transfer_reason", "transfers", _reasons(*reasons))
        return
    with op.batch_alter_table("transfers", recreate="always") as batch_op:
        batch_op.drop_constraint("transfer_reason", type_="check")
        batch_op.create_check_constraint("transfer_reason", _reasons(*reasons))


def upgrade() -> None:
    op.create_table(
        "market_results",
        sa.Column("market_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("paid_in", sa.BigInteger(), nullable=False),
        sa.Column("taken_out", sa.BigInteger(), nullable=False),
        sa.Column("payout", sa.BigInteger(), nullable=False),
        sa.Column("brier", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("market_id", "account_id"),
    )
    op.create_table(
        "member_records",
        sa.Column("account_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("resolved", sa.Integer(), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("staked", sa.BigInteger(), nullable=False),
        sa.Column("profit", sa.BigInteger(), nullable=False),
        sa.Column("brier_total", sa.BigInteger(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("qualified_brier", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("account_id"),
    )
    with op.batch_alter_table("member_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_records_profit", ["guild_id", sa.literal_column("profit").desc(), "account_id"], unique=False
        )
        batch_op.create_index(
            "ix_member_records_accuracy",
            ["guild_id", "qualified_brier", "account_id"],
            unique=False,
            postgresql_where=sa.text("qualified_brier IS NOT NULL"),
            sqlite_where=sa.text("qualified_brier IS NOT NULL"),
        )
    op.create_table(
        "seasons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("name_key", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("guild_id", "name_key", name="ux_seasons_guild_name"),
        sa.UniqueConstraint("guild_id", "number", name="ux_seasons_guild_number"),
    )
    op.create_table(
        "season_standings",
        sa.Column("season_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("season_id", "position"),
    )
    _set_reasons(*_REASONS, _SEASON_RESET)
    # A member's last trade in a market scores their forecast: the latest id per account, off the index alone.
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index("ix_trades_market_account", ["market_id", "account_id", "id"], unique=False)
        batch_op.drop_index("ix_trades_market")


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index("ix_trades_market", ["market_id", "id"], unique=False)
        batch_op.drop_index("ix_trades_market_account")
    _set_reasons(*_REASONS)  # refused while a season's reset is in the books: they are append-only
    op.drop_table("season_standings")
    op.drop_table("seasons")
    with op.batch_alter_table("member_records", schema=None) as batch_op:
        batch_op.drop_index("ix_member_records_accuracy")
        batch_op.drop_index("ix_member_records_profit")
    op.drop_table("member_records")
    op.drop_table("market_results")
