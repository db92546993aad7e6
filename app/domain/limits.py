"""Every bound a member or a server manager can meet, each defined once.

The parsers, the market maker, the use cases, the command definitions and the database columns all read
their limits from here, so a limit changed here is changed everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Bounds:
    """An inclusive range of whole numbers."""

    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def describe(self, what: str) -> str:
        return f"{what} must be between {self.low:,} and {self.high:,}."


# -- text members write ------------------------------------------------------------------------------------------
QUESTION_MAX = 200
OUTCOME_MAX = 50
OUTCOMES_TEXT_MAX = 600  # the comma-separated list of outcomes, as typed
DESCRIPTION_MAX = 1000
REASON_MAX = 200
CURRENCY_MAX = 20
NUMBER_TEXT_MAX = 20  # the longest amount or share count we try to read

# -- markets -----------------------------------------------------------------------------------------------------
OUTCOMES = Bounds(2, 10)
DEFAULT_OUTCOMES = ("Yes", "No")
LIQUIDITY = Bounds(10, 1_000_000)
DURATION_SECONDS = Bounds(60, 365 * 86400)  # how long a market stays open: 1 minute to 365 days

# -- amounts -----------------------------------------------------------------------------------------------------
MAX_POINTS = 10**12
"""The largest number of points one amount may be: a trade, a gift, a grant, a market's liquidity."""

SHARE_PLACES = 6
MAX_SHARES = Decimal(10**12)
"""The most shares of one outcome a market may have outstanding (so a member may hold or sell). Shares are
stored as micro-shares in a BIGINT: 10**12 shares are 10**18 micro-shares, inside its 9.2 * 10**18."""

# -- server settings (`/admin config`) ---------------------------------------------------------------------------
STARTING_BALANCE = Bounds(0, 10**9)
DAILY_BONUS = Bounds(0, 10**9)
MAX_STAKE = Bounds(1, 10**9)

DAILY_PERIOD = timedelta(hours=24)

# -- undoing and refunding settlements ---------------------------------------------------------------------------
UNRESOLVE_WINDOW_SECONDS = Bounds(0, 7 * 86400)  # how long a creator may unresolve their market (0: never)
MANAGER_UNRESOLVE = timedelta(days=7)  # how long managers and the resolver role may unresolve a market
AUTO_REFUND_SECONDS = Bounds(0, 365 * 86400)  # a closed market nobody resolves is refunded after this (0: never)
REFUND_REMINDER = timedelta(days=1)  # the creator hears this long before their market is refunded

# -- forecasting records and seasons -----------------------------------------------------------------------------
ACCURACY_MIN_MARKETS = 5
"""How many resolved markets a member's Brier score must rest on before `/leaderboard by:accuracy` ranks them."""

SEASON_NAME_MAX = 40
