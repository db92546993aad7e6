"""What the use cases return: plain, JSON-serialisable values (also what idempotency records store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from app.domain.guild import GuildSettings
from app.domain.market import Market, as_utc
from app.domain.price_history import ChartPeriod, PricePoint
from app.domain.shares import from_micro


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


@dataclass(frozen=True, slots=True)
class PriceChart:
    """The market, and its probabilities from the chart's start (the first point) to its end (the last point:
    the market's prices when the chart was made, or when it was settled)."""

    market: MarketView
    period: ChartPeriod
    resolution: int  # seconds per bucket the history was read at
    points: list[PricePoint]


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
    """A resolution or cancellation: the largest payouts (at most `TOP_PAYOUTS`), how many members were paid
    in all, and the totals."""

    market: MarketView
    payouts: list[Payout]
    paid_count: int
    total_paid: int
    house_return: int
    reason: str | None = None
    mention_winners: bool = False  # the server wants the winners named in the summary pinged


TOP_PAYOUTS = 25


class Unresolved(BaseModel):
    """A settlement reversed: what it was, and what taking its payouts back took."""

    market: MarketView
    undone: dict[str, Any]
    reason: str | None = None
    reclaimed: int
    shortfall: int  # what the house paid for payouts already spent
    members: int


class SubsidyReceipt(BaseModel):
    market: MarketView
    amount: int
    liquidity_before: int
    balance: int
    currency: str


class SettlementDeferred(BaseModel):
    """A settlement too large to answer within Discord's deadline: acknowledged, and left to the worker."""

    number: int
    holders: int


class BalanceView(BaseModel):
    user_id: int
    balance: int
    currency: str


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
    mention_winners: bool = False
    announce_closing: bool = False
    unresolve_window_seconds: int = 600
    auto_refund_after_seconds: int = 14 * 86400


def market_view(market: Market, currency: str, probabilities: Sequence[Decimal] | None = None) -> MarketView:
    """The market as members see it; `probabilities` when the caller has them (a trade just computed them)."""
    return MarketView(
        id=market.id,
        guild_id=market.guild_id,
        number=market.number,
        question=market.question,
        description=market.description,
        outcomes=list(market.outcomes),
        probabilities=list(market.probabilities() if probabilities is None else probabilities),
        shares=[from_micro(q) for q in market.shares],
        liquidity=market.liquidity,
        volume=market.volume,
        trade_count=market.trade_count,
        status=market.status.value,
        creator_id=market.creator_id,
        channel_id=market.channel_id,
        closes_at=as_utc(market.closes_at),
        created_at=as_utc(market.created_at),
        settled_at=as_utc(market.settled_at) if market.settled_at else None,
        resolution=market.resolution,
        total_paid=market.total_paid,
        currency=currency,
    )


def guild_config(settings: GuildSettings) -> GuildConfig:
    return GuildConfig.model_validate({name: getattr(settings, name) for name in GuildConfig.model_fields})
