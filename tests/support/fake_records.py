"""In-memory stand-ins for the forecasting records' and the seasons' ports (`app/services/record_ports.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from app.domain.ledger import AccountKind
from app.domain.market import MarketStatus
from app.domain.records import ForecastRecord, MarketResult, market_results
from app.domain.seasons import FIRST_SEASON, Season, default_name, name_key
from app.services.rows import Holding

if TYPE_CHECKING:
    from tests.support.fakes import FakeUnitOfWork


@dataclass
class RecordBooks:
    """What the records' and seasons' tables would hold."""

    results: dict[tuple[int, int], tuple[int, MarketResult]] = field(default_factory=dict)  # (market, account)
    last_prices: dict[tuple[int, int], tuple[str, ...]] = field(default_factory=dict)  # (market, account)
    seasons: dict[int, list[Season]] = field(default_factory=dict)  # by guild, in order
    standings: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # by season id


class FakeScores:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def books(self) -> RecordBooks:
        return self.uow.state.records_books

    async def last_prices(self, market_id: int) -> dict[int, tuple[str, ...]]:
        return {account: prices for (m, account), prices in self.books.last_prices.items() if m == market_id}

    def settle(
        self,
        guild_id: int,
        market_id: int,
        holdings: Sequence[Holding],
        payouts: Mapping[int, int],
        scores: Mapping[int, int],
    ) -> None:
        holders = [(h.account_id, h.user_id, h.paid_in, h.taken_out) for h in holdings]

        def apply() -> None:
            for result in market_results(holders, payouts, scores):
                key = (market_id, result.account_id)
                assert key not in self.books.results, "a market's result written twice"
                self.books.results[key] = (guild_id, result)

        self.uow.staged.append(apply)

    async def unsettle(self, market_id: int) -> None:
        for key in [k for k in self.books.results if k[0] == market_id]:
            del self.books.results[key]

    async def record(self, account_id: int) -> ForecastRecord:
        traded = len({m for (m, account, _), _v in self.uow.state.positions.items() if account == account_id})
        mine = [r for (_, account), (_, r) in self.books.results.items() if account == account_id]
        scored = [r.brier for r in mine if r.brier is not None]
        return ForecastRecord(
            markets_traded=traded,
            resolved=len(mine),
            won=sum(r.won for r in mine),
            staked=sum(r.paid_in for r in mine),
            profit=sum(r.profit for r in mine),
            brier_total=sum(scored),
            scored=len(scored),
        )

    async def drifted_records(self) -> list[int]:
        return []  # the fake's records are always summed from its results

    async def stray_results(self) -> list[int]:
        markets = self.uow.state.markets
        return sorted({m for m, _ in self.books.results if markets[m].status is not MarketStatus.RESOLVED})

    async def _records(self, guild_id: int) -> list[tuple[int, int, ForecastRecord]]:
        accounts = {a for (_, a), (g, _) in self.books.results.items() if g == guild_id}
        users = {a: r.user_id for (_, a), (_, r) in self.books.results.items()}
        return [(a, users[a], await self.record(a)) for a in sorted(accounts)]

    async def top_profit(self, guild_id: int, limit: int) -> list[tuple[int, int]]:
        rows = sorted(await self._records(guild_id), key=lambda r: (-r[2].profit, r[0]))
        return [(user, record.profit) for _, user, record in rows[:limit]]

    async def top_accuracy(self, guild_id: int, limit: int) -> list[tuple[int, int, int]]:
        ranked = [r for r in await self._records(guild_id) if r[2].ranked_for_accuracy]
        ranked.sort(key=lambda r: (r[2].brier_total // r[2].scored, r[0]))
        return [(user, record.brier_total, record.scored) for _, user, record in ranked[:limit]]


class FakeSeasons:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    @property
    def books(self) -> RecordBooks:
        return self.uow.state.records_books

    async def current(self, guild_id: int) -> Season:
        found = self.books.seasons.get(guild_id)
        if found:
            return found[-1]
        return Season(None, FIRST_SEASON, default_name(FIRST_SEASON), self.uow.now)

    async def find_ended(self, guild_id: int, key: str) -> Season | None:
        found = self.books.seasons.get(guild_id, [])
        return next((s for s in found if s.ended_at is not None and name_key(s.name) == key), None)

    async def search_ended(self, guild_id: int, typed_key: str, limit: int) -> list[Season]:
        found = [s for s in self.books.seasons.get(guild_id, []) if s.ended_at and typed_key in name_key(s.name)]
        return list(reversed(found))[:limit]

    async def name_taken(self, guild_id: int, key: str) -> bool:
        return any(name_key(s.name) == key for s in self.books.seasons.get(guild_id, []))

    async def member_count(self, guild_id: int) -> int:
        return sum(a.guild_id == guild_id and a.kind is AccountKind.MEMBER for a in self.uow.state.accounts.values())

    async def lock_members(self, guild_id: int) -> int:
        members = [
            a for a in self.uow.state.accounts.values() if a.guild_id == guild_id and a.kind is AccountKind.MEMBER
        ]
        self.uow.locked.extend(sorted(a.id for a in members))
        return len(members)

    async def end(self, guild_id: int, season: Season, now: datetime, by_user_id: int) -> int:
        found = self.books.seasons.setdefault(guild_id, [])
        if season.id is None:
            season = replace(season, id=self.uow.state.next_id())
            found.append(season)
        found[-1] = replace(season, ended_at=now)
        assert season.id is not None
        return season.id

    def snapshot(self, guild_id: int, season_id: int) -> None:
        def apply() -> None:
            members = [
                a for a in self.uow.state.accounts.values() if a.guild_id == guild_id and a.kind is AccountKind.MEMBER
            ]
            members.sort(key=lambda a: (-a.balance, a.id))
            self.books.standings[season_id] = [(int(a.user_id or 0), a.balance) for a in members]

        self.uow.staged.append(apply)

    async def begin(self, guild_id: int, number: int, name: str, now: datetime) -> None:
        self.books.seasons.setdefault(guild_id, []).append(Season(self.uow.state.next_id(), number, name, now))

    async def standings(self, season_id: int, limit: int) -> list[tuple[int, int]]:
        return self.books.standings.get(season_id, [])[:limit]
