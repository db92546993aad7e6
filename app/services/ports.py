"""What the use cases need from the outside world, as protocols: a unit of work with its repositories,
a way to run one in a transaction, and a throttle.

The use cases see only these. `app.persistence` implements them on Postgres and SQLite; the unit tests
implement them in memory (`tests/support/fakes.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.events import DomainEvent
from app.domain.guild import GuildSettings
from app.domain.ledger import Transfer
from app.domain.market import Market, MarketStatus
from app.domain.price_history import BucketPoint, PricePoint
from app.services.delivery import EventQueue
from app.services.record_ports import ScoreRepository, SeasonRepository
from app.services.rows import (
    AccountTotal,
    FilledTrade,
    Followup,
    Holding,
    MarketMessage,
    MemberAccount,
    NewMarket,
    PositionChange,
    PositionRow,
    TradeBook,
)

T = TypeVar("T")


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
        """Move the market to `status`; for a settlement `settled` holds settled_by, resolution and total_paid, for
        a close `closed_to_settle` (closed only because a settlement was asked for)."""

    async def close_expired(self, now: datetime) -> list[Market]:
        """Close every open market whose close time has passed; the markets closed."""

    async def settled(self, market: Market) -> dict[int, int]:
        """Account id -> the points its settlements paid out of the market's pool and no reversal took back:
        the members' payouts or refunds and the house's return, of the settlement in force (none: empty)."""

    async def reopen(self, market: Market, status: MarketStatus, now: datetime) -> Market:
        """A settled market open or closed again (closed now), its settlement forgotten."""

    async def subsidize(self, market: Market, liquidity: int, shift: tuple[int, ...]) -> Market:
        """The market maker deepened: its new liquidity, and its shares beyond those outstanding."""

    async def refunds_due(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        """(guild id, number) of closed markets whose refund is due (`refund_due_at`): their server's
        `auto_refund_after` has passed since they closed, and a day since their creator was reminded."""

    async def remind_refunds(self, now: datetime, before: int, limit: int) -> list[Market]:
        """Mark reminded, and return, the closed markets not yet reminded whose server's `auto_refund_after` ends
        within `before` seconds or has already passed."""

    async def closing_soon(self, now: datetime, until: datetime) -> list[Market]:
        """Mark announced, and return, the open markets closing before `until` that were not announced yet, in
        servers that want closings announced."""


class PositionRepository(Protocol):
    async def holdings(self, market_id: int) -> list[Holding]:
        """Every member's stake in the market, by account id."""

    async def holder_count(self, market_id: int) -> int: ...


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


class MessageRepository(Protocol):
    """Where markets are shown, and the interactions' tokens that reach their replies."""

    async def keep(self, followup: Followup) -> None:
        """Keep an interaction's token until it expires."""

    async def followup(self, interaction_id: int, now: datetime) -> Followup | None:
        """The interaction's token, while it is valid."""

    async def show(self, market_id: int, channel_id: int, interaction_id: int) -> None:
        """The market's public message is the reply of that interaction, in that channel."""

    async def of_market(self, market_id: int) -> MarketMessage | None: ...

    async def learned(self, market_id: int, message_id: int) -> None: ...

    async def fell_behind(self, market_id: int, since: datetime, changes: int = 1) -> None:
        """The market changed (`changes` times, the first at `since`) after its message was drawn."""

    async def due(self, before: datetime, now: datetime, limit: int) -> list[MarketMessage]:
        """Messages behind their market whose last edit was before `before` and that may be edited now."""

    async def next_due(self, interval_seconds: float) -> datetime | None:
        """When the next message behind its market may be edited (None: every message is up to date)."""

    async def edited(self, market_id: int, now: datetime, drawn_changes: int) -> None:
        """The message shows the market as it was after `drawn_changes` changes (read before the market was)."""

    async def hold(self, market_id: int, until: datetime) -> None: ...

    async def gone(self, market_id: int) -> None:
        """The message was deleted (or can no longer be reached): stop editing it."""

    async def forget_expired(self, now: datetime, limit: int) -> int:
        """Delete expired tokens; how many."""


class PriceHistoryRepository(Protocol):
    """Each market's prices over time, at each resolution (`app/domain/price_history.py`)."""

    async def keep(self, market_id: int, points: Sequence[BucketPoint]) -> None:
        """Keep each point in its bucket, unless the bucket holds a later one (by sequence); at most one point
        per bucket in one call."""

    async def read(
        self, market_id: int, resolution: int, first_bucket: datetime, end: datetime, limit: int
    ) -> tuple[PricePoint | None, list[PricePoint]]:
        """The point of the last bucket before `first_bucket` (None: no trade before it), and the points of the
        latest `limit` buckets from `first_bucket` to `end`, oldest first."""


class EventLog(Protocol):
    def record(self, actor: Actor, event: DomainEvent) -> None:
        """Stage the event, numbered in its aggregate's stream, to be written with the unit of work's changes
        (and never without them)."""


class Ledger(Protocol):
    """The write path of the books, staged until the unit of work flushes."""

    def post(self, actor: Actor, transfers: Iterable[Transfer]) -> None:
        """Transfers (amounts of 0 are skipped) and the balance changes they make, on the actor's behalf."""

    def audit(self, actor: Actor, action: AuditAction, *, market_id: int | None = None, **details: Any) -> None: ...

    def reset_members(self, actor: Actor, house_id: int, starting_balance: int) -> None:
        """Bring every member of the actor's server to `starting_balance` with transfers from or to the house
        (their accounts locked), in a bounded number of statements however many members."""

    def record(self, actor: Actor, action: str, result: BaseModel) -> None:
        """What the actor's interaction returned, so a redelivery gets the same answer."""


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


class Books(Protocol):
    """What `verify-ledger` reads to prove the books balance."""

    async def malformed_transfers(self) -> list[tuple[int, int, int | None, int | None]]:
        """(id, amount, debit, credit) of transfers that are not a positive amount between two distinct
        accounts of their own server."""

    async def stray_shortfalls(self) -> list[int]:
        """Ids of `shortfall` transfers that do not go from the house to a member for a market."""

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
    events: EventLog
    queue: EventQueue
    messages: MessageRepository
    price_history: PriceHistoryRepository
    reads: ReadModel
    books: Books
    scores: ScoreRepository
    seasons: SeasonRepository

    async def flush(self) -> None: ...

    async def commit(self, *, wait_for_disk: bool = True) -> None:
        """Commit. `wait_for_disk=False` returns before the commit is on disk: only for a change whose every
        consequence a member hears of is committed later, durably (a crash then loses both or neither)."""


Work = Callable[[UnitOfWork], Awaitable[T]]


class Transactions(Protocol):
    async def run(self, work: Work[T], *, retry_duplicates: bool = False, hot: bool = False) -> T:
        """Run `work` in a fresh unit of work, retrying serialization failures and deadlocks a bounded number
        of times; with `retry_duplicates` also a duplicate key (a row another request created meanwhile). `hot`:
        the trading desk's short transactions of statements built once, which the database may run by a faster
        route."""


class ThrottledAction(StrEnum):
    TRADE = "trade"
    CREATE_MARKET = "create"


class Throttle(Protocol):
    async def __call__(self, actor: Actor, action: ThrottledAction) -> None:
        """Count the action against the actor's limits, or raise `RateLimited` (and count nothing)."""
