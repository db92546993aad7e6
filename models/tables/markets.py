"""Markets, the positions members hold in them, and the log of trades.

Shares are stored as integer micro-shares (shares x 10**6, BIGINT) so that Postgres and SQLite both hold them
exactly; the market maker works in `Decimal` with 6 places.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain import limits
from app.domain.market import MarketStatus, Side
from models.tables.columns import big, one_of, pk, table, time


class Market(SQLModel, table=True):
    __tablename__ = "markets"

    id: int | None = pk()
    guild_id: int = big()
    number: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    question: str = Field(sa_column=sa.Column(sa.String(limits.QUESTION_MAX), nullable=False))
    description: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False))
    outcomes: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    # LMSR state: q_i for each outcome, in micro-shares.
    shares: list[int] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    liquidity: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    status: str = Field(default=MarketStatus.OPEN.value, sa_column=sa.Column(sa.String(10), nullable=False))
    creator_id: int = big()
    channel_id: int | None = big(nullable=True)
    pool_account_id: int | None = big(nullable=True)
    volume: int = Field(default=0, sa_column=sa.Column(sa.BigInteger(), nullable=False))
    trade_count: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    closes_at: datetime = time()
    created_at: datetime = time()
    closed_at: datetime | None = time(nullable=True)
    settled_at: datetime | None = time(nullable=True)
    settled_by: int | None = big(nullable=True)
    # {"outcome": k} | {"weights": [...]} | {"cancelled": reason}
    resolution: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    total_paid: int | None = big(nullable=True)
    closing_announced_at: datetime | None = time(nullable=True)
    # Micro-shares the market maker holds beyond those outstanding, per outcome (after subsidies; null: none).
    maker_shift: list[int] | None = Field(default=None, sa_column=sa.Column(sa.JSON(), nullable=True))
    refund_reminded_at: datetime | None = time(nullable=True)  # its creator heard it is about to be refunded
    # Closed only because a settlement was asked for (and left to the worker): undone, the market reopens.
    closed_to_settle: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false())
    )

    __table_args__ = (
        sa.CheckConstraint(one_of("status", MarketStatus), name="market_status"),
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

    id: int | None = pk()
    guild_id: int = big()
    market_id: int = big()
    account_id: int = big()
    user_id: int = big()
    outcome: int = Field(sa_column=sa.Column(sa.SmallInteger(), nullable=False))
    side: str = Field(sa_column=sa.Column(sa.String(4), nullable=False))
    points: int = big()
    shares: int = big()  # micro-shares
    prices_after: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    interaction_id: int | None = big(nullable=True)
    created_at: datetime = time()

    __table_args__ = (
        sa.CheckConstraint(one_of("side", Side), name="trade_side"),
        sa.CheckConstraint("points > 0 AND shares > 0", name="trade_positive"),
        # Each member's last trade in a market (what their Brier score reads): the latest id per account is
        # read off the index alone (migration 0009 replaced `(market_id, id)`, which nothing else read).
        sa.Index("ix_trades_market_account", "market_id", "account_id", "id"),
    )


markets = table(Market)
positions = table(Position)
trades = table(Trade)
