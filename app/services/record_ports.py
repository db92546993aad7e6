"""What the forecasting records and the seasons need from the outside world (see `ports.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from app.domain.records import ForecastRecord
from app.domain.seasons import Season
from app.services.rows import Holding


class ScoreRepository(Protocol):
    """Each member's result in each resolved market, and the record they sum to."""

    async def last_prices(self, market_id: int) -> dict[int, tuple[str, ...]]:
        """Account id -> the market's probabilities right after that account's last trade in it."""

    def settle(
        self,
        guild_id: int,
        market_id: int,
        holdings: Sequence[Holding],
        payouts: Mapping[int, int],
        scores: Mapping[int, int],
    ) -> None:
        """Stage each holder's result in the market (what they paid in and took out, their payout, their Brier
        score in millionths if they have one) and add it to their record, as sets."""

    async def unsettle(self, market_id: int) -> None:
        """Take the market's results out of the members' records and forget them (a resolution undone)."""

    async def record(self, account_id: int) -> ForecastRecord: ...

    async def drifted_records(self) -> list[int]:
        """Account ids whose record is not the sum of their market results (every row: `verify-ledger`)."""

    async def stray_results(self) -> list[int]:
        """Ids of markets that hold results but are not resolved."""

    async def top_profit(self, guild_id: int, limit: int) -> list[tuple[int, int]]:
        """(user id, realised profit), most profit first."""

    async def top_accuracy(self, guild_id: int, limit: int) -> list[tuple[int, int, int]]:
        """(user id, Brier total in millionths, markets scored) of the members with the minimum of scored
        markets, lowest mean Brier score first."""


class SeasonRepository(Protocol):
    async def current(self, guild_id: int) -> Season:
        """The season in play (the first, without a row, for a server that never started one)."""

    async def find_ended(self, guild_id: int, key: str) -> Season | None:
        """A finished season by its name's key (`seasons.name_key`)."""

    async def search_ended(self, guild_id: int, typed_key: str, limit: int) -> list[Season]:
        """Finished seasons whose name holds `typed_key`, newest first."""

    async def name_taken(self, guild_id: int, key: str) -> bool: ...

    async def member_count(self, guild_id: int) -> int: ...

    async def lock_members(self, guild_id: int) -> int:
        """Lock every member account of the server in id order (the house first, by the caller); how many."""

    async def end(self, guild_id: int, season: Season, now: datetime, by_user_id: int) -> int:
        """Mark the season ended; its id (a row is made for a first season that had none)."""

    def snapshot(self, guild_id: int, season_id: int) -> None:
        """Stage the final standings of the season: every member's balance as it is now, richest first."""

    async def begin(self, guild_id: int, number: int, name: str, now: datetime) -> None: ...

    async def standings(self, season_id: int, limit: int) -> list[tuple[int, int]]:
        """(user id, balance) of a finished season's top members, first first."""
