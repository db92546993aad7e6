"""What the use cases need from the outside world, as protocols: a unit of work with its repositories,
a way to run one in a transaction, and a throttle.

The use cases see only these. `app.persistence` implements them on Postgres and SQLite; the unit tests
implement them in memory (`tests/support/fakes.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.guild import GuildSettings
from app.domain.ledger import Transfer
from app.domain.market import Market, MarketStatus, Side

T = TypeVar("T")


# -- what repositories hand back ---------------------------------------------------------------------------------


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


# -- what the trading repository writes -------------------------------------------------------------------------


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


# -- repositories ------------------------------------------------------------------------------------------------


class GuildRepository(Protocol):
    async def get(self, guild_id: int) -> GuildSettings:
        """The server's settings, creating the server and its house account on first contact."""

    async def find(self, guild_id: int) -> GuildSettings | None:
        """The server's settings without creating anything (None for a server Hunch has not met)."""

    async def update(self, guild_id: int, changes: Mapping[str, Any]) -> None: ...

    async def take_market_number(self, guild_id: int) -> int:
        """The next market number of the server, taken (numbers are never reused)."""


class AccountRepository(Protocol):
    async def house(self, guild_id: int, *, lock: bool = False) -> int:
        """The server's house account id; `lock` locks its row (lock order: markets, house, members by id)."""

    async def member(self, guild_id: int, user_id: int) -> MemberAccount | None: ...

    async def open_members(self, guild_id: int, user_ids: Iterable[int]) -> tuple[int, dict[int, int]]:
        """Lock the house row, then open empty accounts for those members who have none: the house's account
        id, and user id -> new account id."""

    async def open_pool(self, guild_id: int, market_id: int) -> int: ...

    async def lock(self, account_ids: Iterable[int]) -> dict[int, int]:
        """Lock the accounts in id order; their balances."""

    async def balance(self, account_id: int) -> int: ...

    async def claim_daily(self, account_id: int, now: datetime, period_start: datetime) -> bool:
        """Mark the daily bonus claimed unless it was claimed after `period_start`; whether it was."""


class MarketRepository(Protocol):
    async def get(self, guild_id: int, number: int, *, lock: bool = False) -> Market | None: ...

    async def add(self, new: NewMarket, now: datetime) -> Market:
        """Insert the market with its (empty) pool account."""

    async def set_status(self, market: Market, status: MarketStatus, now: datetime, **settled: Any) -> Market:
        """Move the market to `status`; for a settlement `settled` holds settled_by, resolution and total_paid."""

    async def close_expired(self, now: datetime) -> list[Market]:
        """Close every open market whose close time has passed; the markets closed."""


class PositionRepository(Protocol):
    async def holdings(self, market_id: int) -> list[Holding]:
        """Every member's stake in the market, by account id."""


class TradeRepository(Protocol):
    async def lock_book(self, guild_id: int, number: int, user_ids: Iterable[int], now: datetime) -> TradeBook | None:
        """The market and these members' accounts and positions in it, locked; None when no row matched (no
        such market, or none of these members has an account)."""

    def write(
        self, market: Market, positions: Sequence[PositionChange], trades: Sequence[FilledTrade], now: datetime
    ) -> None:
        """Stage a batch's writes to positions, the market and the trade log (the ledger's writes go apart)."""


class RecordRepository(Protocol):
    async def find(self, interaction_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The recorded results of the interactions already applied, by interaction id."""

    async def purge(self, before: datetime, limit: int) -> int:
        """Forget up to `limit` of the oldest records made before `before`; how many were forgotten."""


class Ledger(Protocol):
    """The write path of the books, staged until the unit of work flushes."""

    def post(self, actor: Actor, transfers: Iterable[Transfer]) -> None:
        """Transfers (amounts of 0 are skipped) and the balance changes they make, on the actor's behalf."""

    def audit(self, actor: Actor, action: AuditAction, *, market_id: int | None = None, **details: Any) -> None: ...

    def record(self, actor: Actor, action: str, result: BaseModel) -> None:
        """What the actor's interaction returned, so a redelivery gets the same answer."""


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One of a member's positions, with the market it is in."""

    market: Market
    outcome: int
    shares: int  # micro-shares
    paid_in: int
    taken_out: int


class ReadModel(Protocol):
    """The queries behind what members look at (read only, each bounded by a limit)."""

    async def open_positions(self, account_id: int, limit: int) -> list[PositionRow]:
        """The member's positions in markets not yet settled, by market number."""

    async def top_balances(self, guild_id: int, limit: int) -> list[tuple[int, int]]:
        """(user id, balance) of the richest members, richest first."""

    async def markets(self, guild_id: int, status: MarketStatus | None, limit: int) -> list[Market]:
        """The newest markets (in `status`, or any), newest first."""

    async def search_markets(
        self, guild_id: int, number: int | None, words: Sequence[str], statuses: Sequence[MarketStatus], limit: int
    ) -> list[tuple[int, str]]:
        """(number, question) of markets in `statuses` whose number is `number` or whose question holds every
        word (case-insensitive); the numbered one first, then newest first."""


@dataclass(frozen=True, slots=True)
class AccountTotal:
    id: int
    kind: str
    guild_id: int
    balance: int
    entries: int  # the sum of the account's transfers


class Books(Protocol):
    """What `verify-ledger` reads to prove the books balance."""

    async def malformed_transfers(self) -> list[tuple[int, int, int | None, int | None]]:
        """(id, amount, debit, credit) of transfers that are not a positive amount between two distinct
        accounts of their own server."""

    async def account_totals(self) -> list[AccountTotal]: ...

    async def position_totals(self) -> dict[tuple[int, int], int]:
        """(market id, outcome) -> micro-shares held in positions."""

    async def all_markets(self) -> list[Market]: ...


class UnitOfWork(Protocol):
    """One transaction: the repositories read and lock through it, writes are staged and go at `flush()`;
    nothing is kept unless `commit()` is called."""

    now: datetime
    guilds: GuildRepository
    accounts: AccountRepository
    markets: MarketRepository
    positions: PositionRepository
    trades: TradeRepository
    records: RecordRepository
    ledger: Ledger
    reads: ReadModel
    books: Books

    async def flush(self) -> None: ...

    async def commit(self) -> None: ...


Work = Callable[[UnitOfWork], Awaitable[T]]


class Transactions(Protocol):
    async def run(self, work: Work[T], *, retry_duplicates: bool = False) -> T:
        """Run `work` in a fresh unit of work, retrying serialization failures and deadlocks a bounded number
        of times; with `retry_duplicates` also a duplicate key (a row another request created meanwhile)."""


class ThrottledAction(StrEnum):
    TRADE = "trade"
    CREATE_MARKET = "create"


class Throttle(Protocol):
    async def __call__(self, actor: Actor, action: ThrottledAction) -> None:
        """Count the action against the actor's limits, or raise `RateLimited` (and count nothing)."""
