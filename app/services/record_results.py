"""What the forecasting records and seasons use cases return (plain, JSON-serialisable values)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from app.domain.records import RankBy
from app.services.results import LeaderboardEntry


class StatsView(BaseModel):
    user_id: int
    currency: str
    markets_traded: int
    resolved: int
    won: int
    staked: int
    profit: int
    roi: Decimal | None  # profit per point staked
    brier: Decimal | None  # the mean Brier score
    scored: int  # the markets the Brier score rests on
    accuracy_minimum: int  # markets needed to be ranked by accuracy


class RecordEntry(BaseModel):
    user_id: int
    profit: int | None = None
    brier: Decimal | None = None
    scored: int = 0


class RecordBoard(BaseModel):
    """`/leaderboard by:profit` or `by:accuracy`."""

    by: RankBy
    entries: list[RecordEntry]
    currency: str
    accuracy_minimum: int


class SeasonBoard(BaseModel):
    """A finished season's final standings."""

    number: int
    name: str
    started_at: datetime
    ended_at: datetime
    entries: list[LeaderboardEntry]
    currency: str


class SeasonStart(BaseModel):
    """A season ended and the next began."""

    ended: SeasonBoard
    number: int
    name: str
    members_reset: int
    starting_balance: int
    currency: str


class SeasonStartDeferred(BaseModel):
    """A season start on a server too big to reset within Discord's deadline: acknowledged, left to the worker."""

    members: int
