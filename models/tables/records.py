"""Forecasting records and seasons: each member's result in each resolved market, the running record those
results sum to, the server's seasons and each finished season's final standings."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.domain import limits
from models.tables.columns import big, pk, table, time


class MarketResult(SQLModel, table=True):
    """How one member fared in one resolved market, written when it resolves (deleted if it is unresolved)."""

    __tablename__ = "market_results"

    market_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    account_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    guild_id: int = big()
    user_id: int = big()
    paid_in: int = big()
    taken_out: int = big()
    payout: int = big()
    brier: int | None = big(nullable=True)  # millionths
    # No index on account_id: nothing reads one member's results (their record holds the sums), and each
    # resolution would write one entry per holder into it.


class MemberRecord(SQLModel, table=True):
    """The sum of a member's market results (kept as markets resolve, so the leaderboards read an index)."""

    __tablename__ = "member_records"

    account_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    guild_id: int = big()
    user_id: int = big()
    resolved: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    won: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    staked: int = big()
    profit: int = big()
    brier_total: int = big()  # millionths
    scored: int = Field(default=0, sa_column=sa.Column(sa.Integer(), nullable=False))
    # brier_total // scored once scored >= limits.ACCURACY_MIN_MARKETS, else NULL: what accuracy ranks by.
    qualified_brier: int | None = big(nullable=True)

    __table_args__ = (
        sa.Index(
            "ix_member_records_accuracy",
            "guild_id",
            "qualified_brier",
            "account_id",
            postgresql_where=sa.text("qualified_brier IS NOT NULL"),
            sqlite_where=sa.text("qualified_brier IS NOT NULL"),
        ),
    )


class Season(SQLModel, table=True):
    """A season of a server; the current one has no end. A server that never started one is in its first."""

    __tablename__ = "seasons"

    id: int | None = pk()
    guild_id: int = big()
    number: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    name: str = Field(sa_column=sa.Column(sa.String(limits.SEASON_NAME_MAX), nullable=False))
    name_key: str = Field(sa_column=sa.Column(sa.String(limits.SEASON_NAME_MAX), nullable=False))  # casefolded
    started_at: datetime = time()
    ended_at: datetime | None = time(nullable=True)
    ended_by: int | None = big(nullable=True)

    __table_args__ = (
        sa.UniqueConstraint("guild_id", "number", name="ux_seasons_guild_number"),
        sa.UniqueConstraint("guild_id", "name_key", name="ux_seasons_guild_name"),
    )


class SeasonStanding(SQLModel, table=True):
    """A member's place in a finished season's final standings (every member, by balance)."""

    __tablename__ = "season_standings"

    season_id: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    position: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    user_id: int = big()
    balance: int = big()


market_results = table(MarketResult)
member_records = table(MemberRecord)
# The leaderboard by profit's order, so its top rows are read straight off the index.
sa.Index(
    "ix_member_records_profit", member_records.c.guild_id, member_records.c.profit.desc(), member_records.c.account_id
)
seasons = table(Season)
season_standings = table(SeasonStanding)
