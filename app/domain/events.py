"""Domain events: what happened, as facts other parts of Hunch (and later a read API) react to.

Each event belongs to an aggregate (a market, a member's account or a server) and is numbered in its
aggregate's stream; it is recorded in the same transaction as the change it describes. Its payload is
versioned: `TYPES` maps each type to its current class and version, and `UPCASTERS` turn a payload stored at
an older version into the current one, one version at a time, so old events always read as current ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar


class AggregateType(StrEnum):
    MARKET = "market"
    ACCOUNT = "account"
    GUILD = "guild"


class EventStatus(StrEnum):
    """Where an event is in its delivery to the worker's consumers."""

    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"  # gave up after the most attempts allowed; an operator retries it


def _plain(value: Any) -> Any:  # what `asdict` makes of a field, without deep-copying every number and string
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value if value is None or isinstance(value, (str, int, float)) else deepcopy(value)


@dataclass(frozen=True)
class DomainEvent:
    """A fact about one aggregate; subclasses add their payload fields."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    AGGREGATE: ClassVar[AggregateType]

    aggregate_id: int

    def payload(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "aggregate_id"}


@dataclass(frozen=True)
class MarketCreated(DomainEvent):
    TYPE = "market.created"
    AGGREGATE = AggregateType.MARKET
    number: int
    question: str
    outcomes: list[str]
    liquidity: int
    channel_id: int | None
    closes_at: str  # ISO 8601


@dataclass(frozen=True)
class TradeExecuted(DomainEvent):
    TYPE = "trade.executed"
    AGGREGATE = AggregateType.MARKET
    number: int
    user_id: int
    side: str
    outcome: int
    points: int
    shares: int  # micro-shares
    probabilities: list[str]  # every outcome's probability after the trade
    volume: int
    trade_count: int


@dataclass(frozen=True)
class MarketClosed(DomainEvent):
    TYPE = "market.closed"
    AGGREGATE = AggregateType.MARKET
    number: int
    expired: bool


@dataclass(frozen=True)
class MarketSettled(DomainEvent):
    """A resolution or a cancellation: the largest payouts and how many members were paid."""

    AGGREGATE = AggregateType.MARKET
    number: int
    resolution: dict[str, Any]
    total_paid: int
    paid_count: int
    top_payouts: list[list[int]]  # [user id, points], largest first
    answered_in: int | None  # the channel whose member asked for it, who saw the summary as the reply


@dataclass(frozen=True)
class MarketResolved(MarketSettled):
    TYPE = "market.resolved"


@dataclass(frozen=True)
class MarketCancelled(MarketSettled):
    TYPE = "market.cancelled"


@dataclass(frozen=True)
class MarketUnresolved(DomainEvent):
    """A settlement reversed: its payouts taken back (what winners had spent paid by the house), the market
    open or closed again."""

    TYPE = "market.unresolved"
    AGGREGATE = AggregateType.MARKET
    number: int
    undone: dict[str, Any]  # the resolution that was reversed
    reason: str
    status: str  # "open" | "closed": what the market is now
    reclaimed: int  # points taken back from the members paid
    shortfall: int  # points the house paid for what they had already spent
    members: int  # how many members' payouts were reversed
    answered_in: int | None


@dataclass(frozen=True)
class MarketSubsidized(DomainEvent):
    TYPE = "market.subsidized"
    AGGREGATE = AggregateType.MARKET
    number: int
    user_id: int
    amount: int
    liquidity: int  # the market's liquidity after the subsidy


@dataclass(frozen=True)
class MarketRefundDue(DomainEvent):
    """A closed market nobody has resolved will be cancelled with refunds at `refund_at`."""

    TYPE = "market.refund_due"
    AGGREGATE = AggregateType.MARKET
    number: int
    creator_id: int
    refund_at: str  # ISO 8601


@dataclass(frozen=True)
class MarketClosingSoon(DomainEvent):
    TYPE = "market.closing_soon"
    AGGREGATE = AggregateType.MARKET
    number: int
    closes_at: str


@dataclass(frozen=True)
class SettlementRequested(DomainEvent):
    """A settlement too large to answer within Discord's deadline, acknowledged and left to the worker."""

    TYPE = "market.settlement_requested"
    VERSION = 2
    AGGREGATE = AggregateType.MARKET
    number: int
    kind: str  # "resolve" | "resolve_weighted" | "cancel" | "unresolve"
    argument: str  # the outcome, the weights or the reason, as the member gave them
    user_id: int
    is_manager: bool
    role_ids: list[int]
    channel_id: int | None
    # ISO 8601: when it was asked for, what a creator's unresolve window is checked against however late the
    # worker gets to it (None: written at version 1, without it; the event's own time stands in)
    requested_at: str | None


@dataclass(frozen=True)
class DailyClaimed(DomainEvent):
    TYPE = "wallet.daily_claimed"
    AGGREGATE = AggregateType.ACCOUNT
    user_id: int
    amount: int


@dataclass(frozen=True)
class PointsGiven(DomainEvent):
    TYPE = "wallet.given"
    AGGREGATE = AggregateType.ACCOUNT  # the giver's
    user_id: int
    to_user_id: int
    amount: int


@dataclass(frozen=True)
class PointsGranted(DomainEvent):
    TYPE = "wallet.granted"
    AGGREGATE = AggregateType.ACCOUNT  # the recipient's
    user_id: int
    by_user_id: int
    amount: int
    reason: str


@dataclass(frozen=True)
class SettingsChanged(DomainEvent):
    TYPE = "guild.settings_changed"
    AGGREGATE = AggregateType.GUILD
    changes: dict[str, Any]


@dataclass(frozen=True)
class SeasonStarted(DomainEvent):
    """A season ended (its final standings kept) and the next began with every member's balance reset."""

    TYPE = "guild.season_started"
    AGGREGATE = AggregateType.GUILD
    number: int
    name: str
    ended_number: int
    ended_name: str
    members_reset: int
    starting_balance: int


@dataclass(frozen=True)
class SeasonStartRequested(DomainEvent):
    """A season start on a server too big to reset within Discord's deadline, left to the worker."""

    TYPE = "guild.season_start_requested"
    AGGREGATE = AggregateType.GUILD
    name: str  # as the manager gave it ("" for the default)
    user_id: int
    is_manager: bool
    channel_id: int | None


TYPES: dict[str, type[DomainEvent]] = {
    cls.TYPE: cls
    for cls in (
        MarketCreated,
        TradeExecuted,
        MarketClosed,
        MarketResolved,
        MarketCancelled,
        MarketClosingSoon,
        MarketUnresolved,
        MarketSubsidized,
        MarketRefundDue,
        SettlementRequested,
        DailyClaimed,
        PointsGiven,
        PointsGranted,
        SettingsChanged,
        SeasonStarted,
        SeasonStartRequested,
    )
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("market.settlement_requested", 1): lambda payload: payload | {"requested_at": None},
}
"""(type, version) -> the function turning that version's payload into the next one's. Changing a payload's
shape means: bump the class's VERSION, and add the upcaster from the previous version here."""


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it: its envelope and its payload at the version it was written."""

    id: str
    type: str
    version: int
    aggregate_type: AggregateType
    aggregate_id: int
    sequence: int
    guild_id: int
    occurred_at: datetime
    actor_id: int
    interaction_id: int | None
    payload: Mapping[str, Any]

    def current_payload(self) -> dict[str, Any]:
        """The payload upcast to the current version of its type."""
        return upcast(self.type, self.version, dict(self.payload))

    def event(self) -> DomainEvent:
        cls = TYPES[self.type]
        names = {f.name for f in fields(cls)}
        return cls(aggregate_id=self.aggregate_id, **{k: v for k, v in self.current_payload().items() if k in names})


def upcast(type_: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    current = TYPES[type_].VERSION if type_ in TYPES else version
    while version < current:
        payload = UPCASTERS[(type_, version)](payload)
        version += 1
    return payload
