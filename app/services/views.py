"""What services return: plain, JSON-serialisable values (also what idempotency records store)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class MarketView(BaseModel):
    id: int
    guild_id: int
    number: int
    question: str
    description: str
    outcomes: list[str]
    probabilities: list[Decimal]
    shares: list[Decimal]
    liquidity: int
    volume: int
    trade_count: int
    status: str
    creator_id: int
    channel_id: int | None
    closes_at: datetime
    created_at: datetime
    settled_at: datetime | None = None
    resolution: dict[str, Any] | None = None
    total_paid: int | None = None
    currency: str = "points"


class TradeReceipt(BaseModel):
    market: MarketView
    side: str  # "buy" | "sell"
    outcome: int
    points: int
    shares: Decimal
    probability_before: Decimal
    probability_after: Decimal
    shares_held: Decimal
    balance: int
    currency: str


class Payout(BaseModel):
    user_id: int
    amount: int


class Settlement(BaseModel):
    market: MarketView
    payouts: list[Payout]
    total_paid: int
    house_return: int
    reason: str | None = None


class BalanceView(BaseModel):
    user_id: int
    balance: int
    currency: str
    invested: int = 0


class DailyClaim(BaseModel):
    claimed: bool
    amount: int
    balance: int
    next_claim_at: datetime
    currency: str


class GiftReceipt(BaseModel):
    from_user_id: int
    to_user_id: int
    amount: int
    balance: int
    recipient_balance: int
    currency: str
    reason: str | None = None


class PositionView(BaseModel):
    market_number: int
    question: str
    status: str
    outcome: int
    outcome_label: str
    shares: Decimal
    value: int
    paid_in: int
    taken_out: int

    @property
    def profit(self) -> int:
        return self.value + self.taken_out - self.paid_in


class Portfolio(BaseModel):
    user_id: int
    balance: int
    currency: str
    positions: list[PositionView]


class LeaderboardEntry(BaseModel):
    user_id: int
    balance: int


class Leaderboard(BaseModel):
    entries: list[LeaderboardEntry]
    currency: str


class GuildConfig(BaseModel):
    starting_balance: int
    daily_bonus: int
    default_liquidity: int
    default_duration_seconds: int
    max_stake: int
    currency_name: str
    creator_role_id: int | None
    resolver_role_id: int | None
