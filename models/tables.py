"""The database tables.

Points are whole numbers (BIGINT). Shares are stored as integer micro-shares (shares × 10^6, BIGINT) so that
both Postgres and SQLite hold them exactly; the market engine works in `Decimal` with 6 places.
Discord snowflakes (guilds, users, channels, interactions) are BIGINT.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain import limits
from app.domain.guild import DEFAULTS
from app.domain.ledger import AccountKind, TransferReason
from app.domain.market import MarketStatus, Side

# SQLite only auto-increments an INTEGER PRIMARY KEY; Postgres gets a BIGINT identity.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
metadata = SQLModel.metadata


def _in(column: str, values: Iterable[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def _pk() -> Any:
    return Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))


def _big(nullable: bool = False, index: bool = False, default: int | None = None) -> Any:
    return Field(
        default=default,
        sa_column=sa.Column(sa.BigInteger(), nullable=nullable, index=index, server_default=None),
    )


def _time(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable))


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
    creator_role_id: int | None = _big(nullable=True)
    resolver_role_id: int | None = _big(nullable=True)
    next_market_number: int = Field(default=1, sa_column=sa.Column(sa.Integer(), nullable=False))
    created_at: datetime = _time()

    __table_args__ = (
        sa.CheckConstraint("starting_balance >= 0", name="guild_starting_balance_nonneg"),
        sa.CheckConstraint("daily_bonus >= 0", name="guild_daily_bonus_nonneg"),
        sa.CheckConstraint("default_liquidity > 0", name="guild_liquidity_pos"),
        sa.CheckConstraint("max_stake > 0", name="guild_max_stake_pos"),
    )


class Account(SQLModel, table=True):
    """One per member per guild, one house account per guild, one pool account per market."""

    __tablename__ = "accounts"

    id: int | None = _pk()
    guild_id: int = _big()
    kind: str = Field(sa_column=sa.Column(sa.String(10), nullable=False))
    user_id: int | None = _big(nullable=True)
    market_id: int | None = _big(nullable=True)
    balance: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_daily_at: datetime | None = _time(nullable=True)
    created_at: datetime = _time()

    __table_args__ = (
        sa.CheckConstraint(_in("kind", AccountKind), name="account_kind"),
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


class Market(SQLModel, table=True):
    __tablename__ = "markets"

    id: int | None = _pk()
    guild_id: int = _big()
    number: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    question: str = Field(sa_column=sa.Column(sa.String(limits.QUESTION_MAX), nullable=False))
    description: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    outcomes: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    # LMSR state: q_i for each outcome, in micro-shares.
    shares: list[int] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    liquidity: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    status: str = Field(default=MarketStatus.OPEN.value, sa_column=sa.Column(sa.String(10), nullable=False))
    creator_id: int = _big()
    channel_id: int | None = _big(nullable=True)
    pool_account_id: int | None = _big(nullable=True)
    volume: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    trade_count: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    closes_at: datetime = _time()
    created_at: datetime = _time()
    closed_at: datetime | None = _time(nullable=True)
    settled_at: datetime | None = _time(nullable=True)
    settled_by: int | None = _big(nullable=True)
    # {"outcome": k} | {"weights": [...]} | {"cancelled": reason}
    resolution: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    total_paid: int | None = _big(nullable=True)

    __table_args__ = (
        sa.CheckConstraint(_in("status", MarketStatus), name="market_status"),
        sa.CheckConstraint("liquidity > 0", name="market_liquidity_pos"),
        sa.UniqueConstraint("guild_id", "number", name="ux_markets_guild_number"),
        sa.Index("ix_markets_guild_status", "guild_id", "status", "number"),
        sa.Index("ix_markets_closes_at", "status", "closes_at"),
    )


class Position(SQLModel, table=True):
    __tablename__ = "positions"

    market_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    account_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    outcome: int = Field(sa_column=sa.Column(sa.SmallInteger(), primary_key=True, autoincrement=False))
    shares: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))  # micro-shares
    paid_in: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    taken_out: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))

    __table_args__ = (
        sa.CheckConstraint("shares >= 0", name="position_shares_nonneg"),
        sa.Index("ix_positions_account", "account_id"),
    )


class Trade(SQLModel, table=True):
    __tablename__ = "trades"

    id: int | None = _pk()
    guild_id: int = _big()
    market_id: int = _big()
    account_id: int = _big()
    user_id: int = _big()
    outcome: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    side: str = Field(sa_column=sa.Column(sa.String(4), nullable=False))
    points: int = _big()
    shares: int = _big()  # micro-shares
    prices_after: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    interaction_id: int | None = _big(nullable=True)
    created_at: datetime = _time()

    __table_args__ = (
        sa.CheckConstraint(_in("side", Side), name="trade_side"),
        sa.CheckConstraint("points > 0 AND shares > 0", name="trade_positive"),
        sa.Index("ix_trades_market", "market_id", "id"),
    )


class Transfer(SQLModel, table=True):
    """One movement of points: `amount` leaves the debit account and arrives in the credit account."""

    __tablename__ = "transfers"

    id: int | None = _pk()
    guild_id: int = _big()
    debit_account_id: int = _big()
    credit_account_id: int = _big()
    amount: int = _big()
    reason: str = Field(sa_column=sa.Column(sa.String(20), nullable=False))
    market_id: int | None = _big(nullable=True)
    interaction_id: int | None = _big(nullable=True)
    created_at: datetime = _time()

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="transfer_amount_pos"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="transfer_distinct_accounts"),
        sa.CheckConstraint(_in("reason", TransferReason), name="transfer_reason"),
        sa.ForeignKeyConstraint(["debit_account_id"], ["accounts.id"], name="fk_transfer_debit"),
        sa.ForeignKeyConstraint(["credit_account_id"], ["accounts.id"], name="fk_transfer_credit"),
        sa.Index("ix_transfers_debit", "debit_account_id"),
        sa.Index("ix_transfers_credit", "credit_account_id"),
    )


class InteractionRecord(SQLModel, table=True):
    """Idempotency: the outcome of each state-changing interaction, written in the same transaction."""

    __tablename__ = "interaction_records"

    id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    guild_id: int | None = _big(nullable=True)
    user_id: int | None = _big(nullable=True)
    action: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    result: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    created_at: datetime = _time()

    __table_args__ = (sa.Index("ix_interaction_records_created_at", "created_at"),)  # the retention purge


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"

    id: int | None = _pk()
    guild_id: int = _big()
    actor_id: int = _big()
    action: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    market_id: int | None = _big(nullable=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON(), nullable=False))
    interaction_id: int | None = _big(nullable=True)
    created_at: datetime = _time()

    __table_args__ = (sa.Index("ix_audit_guild", "guild_id", "id"),)


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a model, for the queries that are faster or clearer without the ORM."""
    found: sa.Table = model.__table__  # type: ignore[attr-defined]
    return found


guilds = table(Guild)
accounts = table(Account)
# The leaderboard's order, so its top rows are read straight off the index.
sa.Index("ix_accounts_leaderboard", accounts.c.guild_id, accounts.c.kind, accounts.c.balance.desc(), accounts.c.id)
markets = table(Market)
positions = table(Position)
trades = table(Trade)
transfers = table(Transfer)
interaction_records = table(InteractionRecord)
audit_events = table(AuditEvent)


rate_limit_hits = sa.Table(
    "rate_limit_hits",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key", sa.Text(), nullable=False),
    sa.Column("hit_at_ms", sa.BigInteger(), nullable=False),
    # hit_at_ms + the window in force when recorded: lets the purge clear any key's rows.
    sa.Column("expires_at_ms", sa.BigInteger(), nullable=False),
    sa.Index("ix_rate_limit_hits_key_hit_at_ms", "key", "hit_at_ms"),
    sa.Index("ix_rate_limit_hits_expires_at_ms", "expires_at_ms"),
)
