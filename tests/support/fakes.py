"""In-memory stand-ins for the ports the use cases depend on (`app.services.ports`), for unit tests.

`FakeTransactions` keeps the books in a `FakeBooks` and runs each unit of work on a copy of them: a unit of
work that does not commit leaves nothing behind, as a rolled-back transaction would. Writes are staged and
applied at `flush()`, as the real unit of work applies them; a second record of one interaction raises
`DuplicateKey` at flush, as the records' primary key does.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.events import DomainEvent
from app.domain.guild import GuildSettings
from app.domain.ledger import AccountKind, Transfer, TransferReason
from app.domain.market import Market, MarketStatus, refund_due_at
from app.domain.price_history import BucketPoint, PricePoint
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
from tests.support.fake_records import FakeScores, FakeSeasons, RecordBooks

T = TypeVar("T")
START = datetime(2026, 1, 1, tzinfo=UTC)
_SETTLEMENT_REASONS = (
    TransferReason.PAYOUT,
    TransferReason.REFUND,
    TransferReason.HOUSE_RETURN,
    TransferReason.UNRESOLVE,
)


class DuplicateKey(Exception):
    """Two records of one interaction (the records' primary key)."""


@dataclass
class FakeAccount:
    id: int
    guild_id: int
    kind: AccountKind
    user_id: int | None = None
    market_id: int | None = None
    balance: int = 0
    last_daily_at: datetime | None = None


@dataclass
class Posted:
    guild_id: int
    transfer: Transfer
    interaction_id: int | None


@dataclass
class FakeBooks:
    """Everything a database would hold."""

    guilds: dict[int, GuildSettings] = field(default_factory=dict)
    next_numbers: dict[int, int] = field(default_factory=dict)
    accounts: dict[int, FakeAccount] = field(default_factory=dict)
    markets: dict[int, Market] = field(default_factory=dict)
    positions: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)  # (market, account, outcome)
    trades: list[FilledTrade] = field(default_factory=list)
    transfers: list[Posted] = field(default_factory=list)
    audit: list[tuple[Actor, AuditAction, int | None, dict[str, Any]]] = field(default_factory=list)
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    record_times: dict[int, datetime] = field(default_factory=dict)
    events: list[tuple[Actor, DomainEvent]] = field(default_factory=list)
    closing_announced: set[int] = field(default_factory=set)  # market ids
    followups: dict[int, Followup] = field(default_factory=dict)
    messages: dict[int, FakeMessage] = field(default_factory=dict)  # by market id
    price_points: dict[tuple[int, int, datetime], BucketPoint] = field(
        default_factory=dict
    )  # market, resolution, bucket
    records_books: RecordBooks = field(default_factory=RecordBooks)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self.ids)

    def member(self, guild_id: int, user_id: int) -> FakeAccount | None:
        return next(
            (a for a in self.accounts.values() if a.guild_id == guild_id and a.user_id == user_id),
            None,
        )

    def house(self, guild_id: int) -> FakeAccount | None:
        return next(
            (a for a in self.accounts.values() if a.guild_id == guild_id and a.kind is AccountKind.HOUSE),
            None,
        )


class _Repository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def books(self) -> FakeBooks:
        return self.uow.state


class FakeGuilds(_Repository):
    async def find(self, guild_id: int) -> GuildSettings | None:
        return self.books.guilds.get(guild_id)

    async def get(self, guild_id: int) -> GuildSettings:
        if guild_id not in self.books.guilds:
            self.books.guilds[guild_id] = GuildSettings(guild_id=guild_id)
            self.books.next_numbers[guild_id] = 1
            house = FakeAccount(self.books.next_id(), guild_id, AccountKind.HOUSE)
            self.books.accounts[house.id] = house
        return self.books.guilds[guild_id]

    async def update(self, guild_id: int, changes: Mapping[str, Any]) -> None:
        self.books.guilds[guild_id] = replace(self.books.guilds[guild_id], **changes)

    async def take_market_number(self, guild_id: int) -> int:
        number = self.books.next_numbers[guild_id]
        self.books.next_numbers[guild_id] = number + 1
        return number


class FakeAccounts(_Repository):
    async def house(self, guild_id: int, *, lock: bool = False) -> int:
        found = self.books.house(guild_id)
        assert found is not None, "no house: the use case did not meet the guild first"
        return found.id

    async def member(self, guild_id: int, user_id: int) -> MemberAccount | None:
        found = self.books.member(guild_id, user_id)
        if found is None:
            return None
        assert found.user_id is not None
        return MemberAccount(found.id, found.user_id, found.balance, found.last_daily_at)

    async def open_members(self, guild_id: int, user_ids: Iterable[int]) -> tuple[int, dict[int, int]]:
        house = await self.house(guild_id)
        opened = {}
        for user_id in sorted(set(user_ids)):
            if self.books.member(guild_id, user_id) is None:
                account = FakeAccount(self.books.next_id(), guild_id, AccountKind.MEMBER, user_id=user_id)
                self.books.accounts[account.id] = account
                opened[user_id] = account.id
        return house, opened

    async def open_pool(self, guild_id: int, market_id: int) -> int:
        pool = FakeAccount(self.books.next_id(), guild_id, AccountKind.MARKET, market_id=market_id)
        self.books.accounts[pool.id] = pool
        return pool.id

    async def lock(self, account_ids: Iterable[int]) -> dict[int, int]:
        self.uow.locked.extend(sorted(set(account_ids)))
        return {a: self.books.accounts[a].balance for a in sorted(set(account_ids)) if a in self.books.accounts}

    async def balance(self, account_id: int) -> int:
        return self.books.accounts[account_id].balance

    async def claim_daily(self, account_id: int, now: datetime, period_start: datetime) -> bool:
        account = self.books.accounts[account_id]
        if account.last_daily_at is not None and account.last_daily_at > period_start:
            return False
        account.last_daily_at = now
        return True


class FakeMarkets(_Repository):
    async def get(self, guild_id: int, number: int, *, lock: bool = False) -> Market | None:
        return next((m for m in self.books.markets.values() if m.guild_id == guild_id and m.number == number), None)

    async def add(self, new: NewMarket, now: datetime) -> Market:
        market_id = self.books.next_id()
        pool = await FakeAccounts(self.uow).open_pool(new.guild_id, market_id)
        market = Market(
            id=market_id,
            guild_id=new.guild_id,
            number=new.number,
            question=new.question,
            description=new.description,
            outcomes=new.outcomes,
            shares=(0,) * len(new.outcomes),
            liquidity=new.liquidity,
            status=MarketStatus.OPEN,
            creator_id=new.creator_id,
            channel_id=new.channel_id,
            pool_account_id=pool,
            volume=0,
            trade_count=0,
            closes_at=new.closes_at,
            created_at=now,
        )
        self.books.markets[market_id] = market
        return market

    async def set_status(self, market: Market, status: MarketStatus, now: datetime, **settled: Any) -> Market:
        changes: dict[str, Any] = {"status": status, "closed_at": market.closed_at or now}
        if status.is_settled:
            changes.update(settled_at=now, resolution=settled.get("resolution"), total_paid=settled.get("total_paid"))
        else:
            changes.update(settled)
        updated = replace(self.books.markets[market.id], **changes)
        self.books.markets[market.id] = updated
        return updated

    async def settled(self, market: Market) -> dict[int, int]:
        net: dict[int, int] = {}
        pool = market.pool_account_id
        for posted in self.books.transfers:
            t = posted.transfer
            if t.market_id == market.id and t.reason in _SETTLEMENT_REASONS:
                other, sign = (t.credit, 1) if t.debit == pool else (t.debit, -1)
                net[other] = net.get(other, 0) + sign * t.amount
        return {account: amount for account, amount in net.items() if amount}

    async def reopen(self, market: Market, status: MarketStatus, now: datetime) -> Market:
        reopened = replace(
            self.books.markets[market.id],
            status=status,
            closed_at=now if status is MarketStatus.CLOSED else None,
            settled_at=None,
            resolution=None,
            total_paid=None,
            closed_to_settle=False,
            refund_reminded_at=None,
        )
        self.books.markets[market.id] = reopened
        return reopened

    async def subsidize(self, market: Market, liquidity: int, shift: tuple[int, ...]) -> Market:
        deeper = replace(self.books.markets[market.id], liquidity=liquidity, shift=shift)
        self.books.markets[market.id] = deeper
        return deeper

    async def refunds_due(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        due = [
            m
            for m in self.books.markets.values()
            if (at := refund_due_at(m, self.books.guilds[m.guild_id].auto_refund_after_seconds)) is not None
            and at <= now
        ]
        return [(m.guild_id, m.number) for m in due][:limit]

    async def remind_refunds(self, now: datetime, before: int, limit: int) -> list[Market]:
        due = [
            m
            for m in self.books.markets.values()
            if m.status is MarketStatus.CLOSED
            and m.closed_at is not None
            and (after := self.books.guilds[m.guild_id].auto_refund_after_seconds) > 0
            and m.closed_at + timedelta(seconds=after - before) <= now
            and m.refund_reminded_at is None
        ][:limit]
        for m in due:
            self.books.markets[m.id] = replace(m, refund_reminded_at=now)
        return [self.books.markets[m.id] for m in due]

    async def closing_soon(self, now: datetime, until: datetime) -> list[Market]:
        soon = [
            m
            for m in self.books.markets.values()
            if m.status is MarketStatus.OPEN
            and now < m.closes_at <= until
            and m.id not in self.books.closing_announced
            and self.books.guilds[m.guild_id].announce_closing
        ]
        self.books.closing_announced.update(m.id for m in soon)
        return soon

    async def close_expired(self, now: datetime) -> list[Market]:
        expired = [m for m in self.books.markets.values() if m.status is MarketStatus.OPEN and m.closes_at <= now]
        return [await self.set_status(m, MarketStatus.CLOSED, now) for m in expired]


class FakePositions(_Repository):
    async def holder_count(self, market_id: int) -> int:
        return len({account for (m, account, _) in self.books.positions if m == market_id})

    async def holdings(self, market_id: int) -> list[Holding]:
        market = self.books.markets[market_id]
        by_account: dict[int, list[int]] = {}
        flows: dict[int, list[int]] = {}
        for (m, account, outcome), (shares, paid_in, taken_out) in sorted(self.books.positions.items()):
            if m != market_id:
                continue
            by_account.setdefault(account, [0] * len(market.outcomes))[outcome] += shares
            flow = flows.setdefault(account, [0, 0])
            flow[0] += paid_in
            flow[1] += taken_out
        return [
            Holding(a, int(self.books.accounts[a].user_id or 0), tuple(s), flows[a][0], flows[a][1])
            for a, s in by_account.items()
        ]


class FakeTrades(_Repository):
    async def lock_book(self, guild_id: int, number: int, user_ids: Iterable[int], now: datetime) -> TradeBook | None:
        market = await FakeMarkets(self.uow).get(guild_id, number)
        if market is None:
            return None
        members = [a for u in sorted(set(user_ids)) if (a := self.books.member(guild_id, u)) is not None]
        if not members:
            return None
        guild = self.books.guilds[guild_id]
        self.uow.locked.extend(a.id for a in members)
        return TradeBook(
            market=market,
            currency=guild.currency_name,
            max_stake=guild.max_stake,
            accounts={int(a.user_id or 0): a.id for a in members},
            balances={a.id: a.balance for a in members},
            held={
                (a.id, o): v[0]
                for a in members
                for (m, acc, o), v in self.books.positions.items()
                if m == market.id and acc == a.id
            },
        )

    def write(
        self, market: Market, positions: Sequence[PositionChange], trades: Sequence[FilledTrade], now: datetime
    ) -> None:
        self.uow.staged.append(lambda: self._apply(market, positions, trades))

    def _apply(self, market: Market, positions: Sequence[PositionChange], trades: Sequence[FilledTrade]) -> None:
        for change in positions:
            row = self.books.positions.setdefault((market.id, change.account_id, change.outcome), [0, 0, 0])
            row[0] = change.shares
            row[1] += change.paid_in
            row[2] += change.taken_out
        current = self.books.markets[market.id]
        self.books.markets[market.id] = replace(
            current, shares=market.shares, volume=market.volume, trade_count=market.trade_count
        )
        self.books.trades.extend(trades)
        for trade in trades:  # what the trade log says each member last saw
            self.books.records_books.last_prices[(market.id, trade.account_id)] = trade.prices_after


class FakeRecords(_Repository):
    async def find(self, interaction_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        return {i: copy.deepcopy(self.books.records[i]) for i in interaction_ids if i in self.books.records}

    async def purge(self, before: datetime, limit: int) -> int:
        oldest = sorted(self.books.record_times.items(), key=lambda r: r[1])
        doomed = [i for i, at in oldest if at < before and i > 0][:limit]  # work keys (negative) are kept
        for key in doomed:
            del self.books.records[key]
            del self.books.record_times[key]
        return len(doomed)


@dataclass
class FakeMessage:
    channel_id: int
    interaction_id: int | None
    message_id: int | None = None
    changes: int = 0
    drawn_changes: int = 0
    stale_since: datetime | None = None
    edited_at: datetime | None = None
    hold_until: datetime | None = None
    gone: bool = False


class FakeMessages(_Repository):
    async def keep(self, followup: Followup) -> None:
        self.books.followups.setdefault(followup.interaction_id, followup)

    async def followup(self, interaction_id: int, now: datetime) -> Followup | None:
        found = self.books.followups.get(interaction_id)
        return found if found is not None and found.expires_at > now else None

    async def show(self, market_id: int, channel_id: int, interaction_id: int) -> None:
        self.books.messages.setdefault(market_id, FakeMessage(channel_id, interaction_id))

    async def of_market(self, market_id: int) -> MarketMessage | None:
        found = self.books.messages.get(market_id)
        return self._view(market_id, found) if found is not None else None

    async def learned(self, market_id: int, message_id: int) -> None:
        self.books.messages[market_id].message_id = message_id

    async def fell_behind(self, market_id: int, since: datetime, changes: int = 1) -> None:
        found = self.books.messages.get(market_id)
        if found is not None and not found.gone:
            found.changes += changes
            found.stale_since = found.stale_since or since

    async def due(self, before: datetime, now: datetime, limit: int) -> list[MarketMessage]:
        due = [
            (m.stale_since, market_id, m)
            for market_id, m in self.books.messages.items()
            if m.stale_since is not None
            and not m.gone
            and (m.edited_at is None or m.edited_at <= before)
            and (m.hold_until is None or m.hold_until <= now)
        ]
        return [self._view(market_id, m) for _, market_id, m in sorted(due, key=lambda d: (d[0], d[1]))[:limit]]

    async def next_due(self, interval_seconds: float) -> datetime | None:
        times = []
        for m in self.books.messages.values():
            if m.stale_since is None or m.gone:
                continue
            due = m.edited_at + timedelta(seconds=interval_seconds) if m.edited_at is not None else m.stale_since
            times.append(max(due, m.hold_until) if m.hold_until is not None else due)
        return min(times, default=None)

    async def edited(self, market_id: int, now: datetime, drawn_changes: int) -> None:
        m = self.books.messages[market_id]
        m.edited_at, m.hold_until, m.drawn_changes = now, None, drawn_changes
        if m.changes <= drawn_changes:
            m.stale_since = None

    async def hold(self, market_id: int, until: datetime) -> None:
        self.books.messages[market_id].hold_until = until

    async def gone(self, market_id: int) -> None:
        m = self.books.messages[market_id]
        m.gone, m.stale_since = True, None

    async def forget_expired(self, now: datetime, limit: int) -> int:
        doomed = sorted(i for i, f in self.books.followups.items() if f.expires_at <= now)[:limit]
        for interaction_id in doomed:
            del self.books.followups[interaction_id]
        return len(doomed)

    def _view(self, market_id: int, m: FakeMessage) -> MarketMessage:
        market = self.books.markets[market_id]
        return MarketMessage(
            market_id,
            market.guild_id,
            market.number,
            m.channel_id,
            m.message_id,
            m.interaction_id,
            m.changes,
            m.edited_at,
        )


class FakePriceHistory(_Repository):
    async def keep(self, market_id: int, points: Sequence[BucketPoint]) -> None:
        keys = [(market_id, p.resolution, p.bucket) for p in points]
        assert len(set(keys)) == len(keys), "one bucket twice in one statement"
        for key, point in zip(keys, points, strict=True):
            held = self.books.price_points.get(key)
            if held is None or held.sequence < point.sequence:
                self.books.price_points[key] = point

    async def read(
        self, market_id: int, resolution: int, first_bucket: datetime, end: datetime, limit: int
    ) -> tuple[PricePoint | None, list[PricePoint]]:
        mine = sorted(
            (bucket, p.point)
            for (m, r, bucket), p in self.books.price_points.items()
            if m == market_id and r == resolution
        )
        before = [point for bucket, point in mine if bucket < first_bucket]
        within = [point for bucket, point in mine if first_bucket <= bucket <= end]
        return (before[-1] if before else None), within[-limit:]


class FakeLedger(_Repository):
    def post(self, actor: Actor, transfers: Iterable[Transfer]) -> None:
        moves = [t for t in transfers if t.amount > 0]
        self.uow.staged.append(lambda: self._post(actor, moves))

    def _post(self, actor: Actor, moves: list[Transfer]) -> None:
        for move in moves:
            self.books.accounts[move.debit].balance -= move.amount
            self.books.accounts[move.credit].balance += move.amount
            self.books.transfers.append(Posted(actor.guild_id, move, actor.interaction_id))

    def audit(self, actor: Actor, action: AuditAction, *, market_id: int | None = None, **details: Any) -> None:
        self.uow.staged.append(lambda: self.books.audit.append((actor, action, market_id, details)))

    def reset_members(self, actor: Actor, house_id: int, starting_balance: int) -> None:
        def apply() -> None:
            members = [
                a
                for a in self.books.accounts.values()
                if a.guild_id == actor.guild_id and a.kind is AccountKind.MEMBER and a.balance != starting_balance
            ]
            moves = [
                Transfer(a.id, house_id, a.balance - starting_balance, TransferReason.SEASON_RESET)
                if a.balance > starting_balance
                else Transfer(house_id, a.id, starting_balance - a.balance, TransferReason.SEASON_RESET)
                for a in sorted(members, key=lambda a: a.id)
            ]
            self._post(actor, moves)

        self.uow.staged.append(apply)

    def record(self, actor: Actor, action: str, result: BaseModel) -> None:
        if actor.interaction_id is not None:
            key, value = actor.interaction_id, result.model_dump(mode="json")
            self.uow.staged.append(lambda: self._record(key, value))

    def _record(self, key: int, value: dict[str, Any]) -> None:
        if key in self.books.records:
            raise DuplicateKey(key)
        self.books.records[key] = value
        self.books.record_times[key] = self.uow.now


class FakeEventLog(_Repository):
    def record(self, actor: Actor, event: DomainEvent) -> None:
        self.uow.staged.append(lambda: self.books.events.append((actor, event)))


class FakeReads(_Repository):
    async def open_positions(self, account_id: int, limit: int) -> list[PositionRow]:
        rows = []
        for (market_id, account, outcome), (shares, paid_in, taken_out) in self.books.positions.items():
            market = self.books.markets[market_id]
            if account == account_id and not market.status.is_settled:
                rows.append(PositionRow(market, outcome, shares, paid_in, taken_out))
        rows.sort(key=lambda r: (r.market.number, r.outcome))
        return rows[:limit]

    async def top_balances(self, guild_id: int, limit: int) -> list[tuple[int, int]]:
        members = [a for a in self.books.accounts.values() if a.guild_id == guild_id and a.kind is AccountKind.MEMBER]
        members.sort(key=lambda a: (-a.balance, a.id))
        return [(int(a.user_id or 0), a.balance) for a in members[:limit]]

    async def markets(self, guild_id: int, status: MarketStatus | None, limit: int) -> list[Market]:
        found = [m for m in self.books.markets.values() if m.guild_id == guild_id and status in (None, m.status)]
        return sorted(found, key=lambda m: -m.number)[:limit]

    async def search_markets(
        self, guild_id: int, number: int | None, words: Sequence[str], statuses: Sequence[MarketStatus], limit: int
    ) -> list[tuple[int, str]]:
        found = [
            m
            for m in self.books.markets.values()
            if m.guild_id == guild_id
            and m.status in statuses
            and (m.number == number or (words and all(w in m.question.lower() for w in words)) or not (number or words))
        ]
        found.sort(key=lambda m: (m.number != number, -m.number))
        return [(m.number, m.question) for m in found[:limit]]


class FakeBooksReader(_Repository):
    async def malformed_transfers(self) -> list[tuple[int, int, int | None, int | None]]:
        bad = []
        for index, posted in enumerate(self.books.transfers, start=1):
            t = posted.transfer
            debit, credit = self.books.accounts.get(t.debit), self.books.accounts.get(t.credit)
            if (
                t.amount <= 0
                or t.debit == t.credit
                or debit is None
                or credit is None
                or debit.guild_id != posted.guild_id
                or credit.guild_id != posted.guild_id
            ):
                bad.append((index, t.amount, t.debit if debit else None, t.credit if credit else None))
        return bad

    async def stray_shortfalls(self) -> list[int]:
        stray = []
        for index, posted in enumerate(self.books.transfers, start=1):
            t = posted.transfer
            if t.reason is TransferReason.SHORTFALL and (
                self.books.accounts[t.debit].kind is not AccountKind.HOUSE
                or self.books.accounts[t.credit].kind is not AccountKind.MEMBER
                or t.market_id is None
            ):
                stray.append(index)
        return stray

    async def account_totals(self) -> list[AccountTotal]:
        entries: dict[int, int] = {}
        for posted in self.books.transfers:
            t = posted.transfer
            entries[t.debit] = entries.get(t.debit, 0) - t.amount
            entries[t.credit] = entries.get(t.credit, 0) + t.amount
        return [
            AccountTotal(a.id, a.kind.value, a.guild_id, a.balance, entries.get(a.id, 0))
            for a in self.books.accounts.values()
        ]

    async def position_totals(self) -> dict[tuple[int, int], int]:
        totals: dict[tuple[int, int], int] = {}
        for (market_id, _, outcome), (shares, _, _) in self.books.positions.items():
            totals[(market_id, outcome)] = totals.get((market_id, outcome), 0) + shares
        return totals

    async def all_markets(self) -> list[Market]:
        return list(self.books.markets.values())


class FakeUnitOfWork:
    def __init__(self, state: FakeBooks, now: datetime) -> None:
        self.state = state
        self.now = now
        self.staged: list[Callable[[], None]] = []
        self.locked: list[int] = []  # account ids, in the order the use case locked them
        self.committed = False
        self.guilds = FakeGuilds(self)
        self.accounts = FakeAccounts(self)
        self.markets = FakeMarkets(self)
        self.positions = FakePositions(self)
        self.trades = FakeTrades(self)
        self.records = FakeRecords(self)
        self.ledger = FakeLedger(self)
        self.events = FakeEventLog(self)
        self.messages = FakeMessages(self)
        self.price_history = FakePriceHistory(self)
        self.reads = FakeReads(self)
        self.books = FakeBooksReader(self)
        self.scores = FakeScores(self)
        self.seasons = FakeSeasons(self)

    async def flush(self) -> None:
        staged, self.staged = self.staged, []
        for apply in staged:
            apply()

    async def commit(self, *, wait_for_disk: bool = True) -> None:
        await self.flush()
        self.committed = True


class FakeTransactions:
    """Runs each unit of work on a copy of the books, kept only when the work commits."""

    def __init__(self, books: FakeBooks | None = None, clock: Callable[[], datetime] = lambda: START) -> None:
        self.books = books or FakeBooks()
        self.clock = clock
        self.runs = 0

    async def run(self, work: Callable[[Any], Awaitable[T]], *, retry_duplicates: bool = False, hot: bool = False) -> T:
        for attempt in range(1, 6):
            self.runs += 1
            uow = FakeUnitOfWork(copy.deepcopy(self.books), self.clock())
            try:
                result = await work(uow)
            except DuplicateKey:
                if retry_duplicates and attempt < 5:
                    continue
                raise
            if uow.committed:
                self.books = uow.state
            return result
        raise AssertionError("unreachable")


class FakeThrottle:
    """Counts what it is asked; refuses once `refuse` is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []
        self.refuse: Exception | None = None

    async def __call__(self, actor: Actor, action: Any) -> None:
        self.calls.append((actor.user_id, str(action)))
        if self.refuse is not None:
            raise self.refuse
