"""A prediction market: its question, outcomes and life cycle, and who may settle it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.domain import lmsr
from app.domain.actor import Actor
from app.domain.errors import Conflict, Forbidden, RoleRequired
from app.domain.limits import MANAGER_UNRESOLVE, REFUND_REMINDER
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
    shift: tuple[int, ...] = ()  # the market maker's micro-shares beyond those outstanding (after subsidies)
    closed_to_settle: bool = False  # closed only because a (deferred) settlement was asked for
    refund_reminded_at: datetime | None = None  # when its creator was told Hunch will refund it

    def maker_shares(self) -> tuple[int, ...]:
        """The market maker's state: the outstanding micro-shares plus the shift subsidies left (none: zeros)."""
        if not self.shift:
            return self.shares
        return tuple(q + s for q, s in zip(self.shares, self.shift, strict=True))

    def outstanding(self, maker_shares: tuple[int, ...]) -> tuple[int, ...]:
        """The outstanding micro-shares for a state of the market maker (the inverse of `maker_shares`)."""
        if not self.shift:
            return maker_shares
        return tuple(x - s for x, s in zip(maker_shares, self.shift, strict=True))

    def is_trading(self, now: datetime | None = None) -> bool:
        return self.status is MarketStatus.OPEN and (now is None or as_utc(self.closes_at) > now)

    def state(self, now: datetime | None = None) -> lmsr.MarketState:
        """The market maker's view of this market (closed to trading once its close time has passed)."""
        return lmsr.MarketState(
            liquidity=self.liquidity,
            shares=tuple(from_micro(q) for q in self.maker_shares()),
            is_open=self.is_trading(now),
        )

    def probabilities(self) -> tuple[Decimal, ...]:
        return lmsr.prices(self.state())

    def after_trades(self, shares: tuple[int, ...], volume: int, trade_count: int) -> Market:
        return replace(self, shares=shares, volume=volume, trade_count=trade_count)


def refund_due_at(market: Market, auto_refund_after_seconds: int) -> datetime | None:
    """When Hunch cancels a closed, unresolved market with refunds: `auto_refund_after` after its close, and never
    before its creator has had the reminder for a day. None: not closed, refunds off, or the creator not yet told.
    """
    if market.status is not MarketStatus.CLOSED or market.closed_at is None or auto_refund_after_seconds <= 0:
        return None
    if market.refund_reminded_at is None:
        return None
    closed = as_utc(market.closed_at) + timedelta(seconds=auto_refund_after_seconds)
    return max(closed, as_utc(market.refund_reminded_at) + REFUND_REMINDER)


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


def require_may_unresolve(
    actor: Actor, market: Market, resolver_role_id: int | None, window: int, now: datetime
) -> None:
    """A settled market may be reopened by its creator within the server's window (`window` seconds), and by a
    server manager or the resolver role within 7 days."""
    if not market.status.is_settled or market.settled_at is None:
        raise Conflict(f"Market #{market.number} is not resolved or cancelled.")
    since = now - as_utc(market.settled_at)
    if since < timedelta(0):  # a deferred request: the market was unresolved and settled again since it was made
        raise Conflict(f"Market #{market.number} was settled again after you asked; that settlement stands.")
    if actor.is_manager or actor.has_role(resolver_role_id):
        if since > MANAGER_UNRESOLVE:
            raise Conflict(f"Market #{market.number} settled more than 7 days ago: it can no longer be unresolved.")
    elif actor.user_id == market.creator_id:
        if window <= 0 or since > timedelta(seconds=window):
            if window <= 0:
                raise Forbidden("Here only a resolver or a server manager can unresolve a market.")
            raise Forbidden(
                f"A market's creator can unresolve it only within {spoken_duration(window)} of its settlement; "
                "ask a resolver or a server manager."
            )
    else:
        raise Forbidden("Only the market's creator, a resolver or a server manager can do that.")


def spoken_duration(seconds: int) -> str:
    """`10 minutes`, `14 days`: a duration in its largest whole unit."""
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count:,} {name}" + ("" if count == 1 else "s")
    raise AssertionError("unreachable")
