"""The books: servers, their accounts, and the transfers between them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain import limits
from app.domain.guild import DEFAULTS
from app.domain.ledger import AccountKind, TransferReason
from models.tables.columns import big, one_of, pk, table, time


class Guild(SQLModel, table=True):
    __tablename__ = "guilds"

    id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    starting_balance: int = Field(
        default=DEFAULTS.starting_balance, sa_column=sa.Column(sa.BigInteger(), nullable=False)
    )
    daily_bonus: int = Field(default=DEFAULTS.daily_bonus, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    default_liquidity: int = Field(
        default=DEFAULTS.default_liquidity, sa_column=sa.Column(sa.BigInteger(), nullable=False)
    )
    default_duration_seconds: int = Field(
        default=DEFAULTS.default_duration_seconds, sa_column=sa.Column(sa.Integer(), nullable=False)
    )
    max_stake: int = Field(default=DEFAULTS.max_stake, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    currency_name: str = Field(
        default=DEFAULTS.currency_name, sa_column=sa.Column(sa.String(limits.CURRENCY_MAX), nullable=False)
    )
    creator_role_id: int | None = big(nullable=True)
    resolver_role_id: int | None = big(nullable=True)
    mention_winners: bool = Field(
        default=DEFAULTS.mention_winners, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    announce_closing: bool = Field(
        default=DEFAULTS.announce_closing, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )
    unresolve_window_seconds: int = Field(
        default=DEFAULTS.unresolve_window_seconds,
        sa_column=sa.Column(
            sa.Integer(), nullable=False, server_default=sa.text(str(DEFAULTS.unresolve_window_seconds))
        ),
    )
    auto_refund_after_seconds: int = Field(
        default=DEFAULTS.auto_refund_after_seconds,
        sa_column=sa.Column(
            sa.Integer(), nullable=False, server_default=sa.text(str(DEFAULTS.auto_refund_after_seconds))
        ),
    )
    next_market_number: int = Field(default=1, sa_column=sa.Column(sa.Integer(), nullable=False))
    created_at: datetime = time()

    __table_args__ = (
        sa.CheckConstraint("starting_balance >= 0", name="guild_starting_balance_nonneg"),
        sa.CheckConstraint("daily_bonus >= 0", name="guild_daily_bonus_nonneg"),
        sa.CheckConstraint("default_liquidity > 0", name="guild_liquidity_pos"),
        sa.CheckConstraint("max_stake > 0", name="guild_max_stake_pos"),
    )


class Account(SQLModel, table=True):
    """One per member per guild, one house account per guild, one pool account per market."""

    __tablename__ = "accounts"

    id: int | None = pk()
    guild_id: int = big()
    kind: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    user_id: int | None = big(nullable=True)
    market_id: int | None = big(nullable=True)
    balance: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_daily_at: datetime | None = time(nullable=True)
    created_at: datetime = time()

    __table_args__ = (
        sa.CheckConstraint(one_of("kind", AccountKind), name="account_kind"),
        # The house issues points and may go below zero; nobody else ever can.
        sa.CheckConstraint("kind = 'house' OR balance >= 0", name="account_balance_nonneg"),
        sa.CheckConstraint("(kind = 'member') = (user_id IS NOT NULL)", name="account_member_has_user"),
        sa.CheckConstraint("(kind = 'market') = (market_id IS NOT NULL)", name="account_pool_has_market"),
        sa.Index("ux_accounts_member", "guild_id", "user_id", unique=True),
        sa.Index(
            "ux_accounts_house",
            "guild_id",
            unique=True,
            postgresql_where=sa.text("kind = 'house'"),
            sqlite_where=sa.text("kind = 'house'"),
        ),
        sa.Index("ux_accounts_market", "market_id", unique=True),
    )


_SETTLEMENT = "reason IN ('payout', 'refund', 'house_return', 'unresolve')"


class Transfer(SQLModel, table=True):
    """One movement of points: `amount` leaves the debit account and arrives in the credit account."""

    __tablename__ = "transfers"

    id: int | None = pk()
    guild_id: int = big()
    debit_account_id: int = big()
    credit_account_id: int = big()
    amount: int = big()
    reason: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    market_id: int | None = big(nullable=True)
    interaction_id: int | None = big(nullable=True)
    created_at: datetime = time()

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="transfer_amount_pos"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="transfer_distinct_accounts"),
        sa.CheckConstraint(one_of("reason", TransferReason), name="transfer_reason"),
        sa.ForeignKeyConstraint(["debit_account_id"], ["accounts.id"], name="fk_transfer_debit"),
        sa.ForeignKeyConstraint(["credit_account_id"], ["accounts.id"], name="fk_transfer_credit"),
        sa.Index("ix_transfers_debit", "debit_account_id"),
        sa.Index("ix_transfers_credit", "credit_account_id"),
        # A market's settlements and their reversals, read when it is unresolved (a few rows among its trades').
        sa.Index(
            "ix_transfers_settlement",
            "market_id",
            postgresql_where=sa.text(_SETTLEMENT),
            sqlite_where=sa.text(_SETTLEMENT),
        ),
    )


guilds = table(Guild)
accounts = table(Account)
# The leaderboard's order, so its top rows are read straight off the index.
sa.Index("ix_accounts_leaderboard", accounts.c.guild_id, accounts.c.kind, accounts.c.balance.desc(), accounts.c.id)
transfers = table(Transfer)
