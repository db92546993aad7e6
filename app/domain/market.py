"""A prediction market: its question, outcomes and life cycle, and who may settle it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.domain import lmsr
from app.domain.actor import Actor
from app.domain.errors import Conflict, Forbidden, RoleRequired
from app.domain.shares import from_micro


class MarketStatus(StrEnum):
    OPEN = "open"  # trading
    CLOSED = "closed"  # trading stopped, waiting for a resolution
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def is_settled(self) -> bool:
        return self in (MarketStatus.RESOLVED, MarketStatus.CANCELLED)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


Resolution = dict[str, Any]
"""How a market settled: `{"outcome": k}`, `{"weights": [w0, w1, ...]}` or `{"cancelled": reason}`."""


def as_utc(moment: datetime) -> datetime:
    """SQLite hands times back without a zone; every time Hunch stores is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Market:
    id: int
    guild_id: int
    number: int  # per server: #1, #2, ...
    question: str
    description: str
    outcomes: tuple[str, ...]
    shares: tuple[int, ...]  # micro-shares outstanding per outcome
    liquidity: int
    status: MarketStatus
    creator_id: int
    channel_id: int | None
    pool_account_id: int
    volume: int
    trade_count: int
    closes_at: datetime
    created_at: datetime
    closed_at: datetime | None = None
    settled_at: datetime | None = None
    resolution: Resolution | None = None
    total_paid: int | None = None

    def is_trading(self, now: datetime | None = None) -> bool:
        return self.status is MarketStatus.OPEN and (now is None or as_utc(self.closes_at) > now)

    def state(self, now: datetime | None = None) -> lmsr.MarketState:
        """The market maker's view of this market (closed to trading once its close time has passed)."""
        return lmsr.MarketState(
            liquidity=self.liquidity,
            shares=tuple(from_micro(q) for q in self.shares),
            is_open=self.is_trading(now),
        )

    def probabilities(self) -> tuple[Decimal, ...]:
        return lmsr.prices(self.state())

    def after_trades(self, shares: tuple[int, ...], volume: int, trade_count: int) -> Market:
        return replace(self, shares=shares, volume=volume, trade_count=trade_count)


def require_may_create(actor: Actor, creator_role_id: int | None) -> None:
    """A server may keep market creation to one role; its managers may always create."""
    if creator_role_id is not None and not actor.is_manager and not actor.has_role(creator_role_id):
        raise RoleRequired(creator_role_id, "create markets here")


def require_may_settle(actor: Actor, market: Market, resolver_role_id: int | None) -> None:
    """The creator, a server manager or a member with the resolver role may close, resolve or cancel."""
    if not (actor.is_manager or actor.user_id == market.creator_id or actor.has_role(resolver_role_id)):
        raise Forbidden("Only the market's creator, a resolver or a server manager can do that.")
    if market.status.is_settled:
        raise Conflict(f"Market #{market.number} is already {market.status}.")
