"""The plain values the repositories hand back and take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.domain.actor import Actor
from app.domain.market import Market, Side


@dataclass(frozen=True, slots=True)
class MemberAccount:
    id: int
    user_id: int
    balance: int
    last_daily_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Holding:
    """A member's stake in one market: micro-shares per outcome, and the points they paid in and took out."""

    account_id: int
    user_id: int
    shares: tuple[int, ...]
    paid_in: int
    taken_out: int


@dataclass(slots=True)
class TradeBook:
    """A market and its traders, locked for a batch of trades: the market row first, then the members'
    accounts in id order."""

    market: Market
    currency: str
    max_stake: int
    accounts: dict[int, int]  # user id -> account id
    balances: dict[int, int]  # account id -> balance
    held: dict[tuple[int, int], int] = field(default_factory=dict)  # (account id, outcome) -> micro-shares


@dataclass(frozen=True, slots=True)
class NewMarket:
    guild_id: int
    number: int
    question: str
    description: str
    outcomes: tuple[str, ...]
    liquidity: int
    creator_id: int
    channel_id: int | None
    closes_at: datetime


@dataclass(frozen=True, slots=True)
class FilledTrade:
    """One trade as the market maker filled it."""

    actor: Actor
    account_id: int
    outcome: int
    side: Side
    points: int
    micro_shares: int
    prices_after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PositionChange:
    """A position after a batch: its micro-shares now, and the points paid in and taken out in the batch."""

    account_id: int
    outcome: int
    shares: int
    paid_in: int
    taken_out: int


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One of a member's positions, with the market it is in."""

    market: Market
    outcome: int
    shares: int  # micro-shares
    paid_in: int
    taken_out: int


@dataclass(frozen=True, slots=True)
class AccountTotal:
    id: int
    kind: str
    guild_id: int
    balance: int
    entries: int  # the sum of the account's transfers


@dataclass(frozen=True, slots=True)
class Followup:
    """An interaction's reply, reachable through the interaction's token while it is valid (15 minutes)."""

    interaction_id: int
    application_id: int
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MarketMessage:
    """A market's public message."""

    market_id: int
    guild_id: int
    number: int
    channel_id: int
    message_id: int | None
    interaction_id: int | None
    changes: int  # how many changes of the market it has been told of
    edited_at: datetime | None
