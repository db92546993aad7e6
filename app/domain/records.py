"""Forecasting records: what a resolved market says happened, how good a member's forecast of it was (the
Brier score), and the record that sums a member's resolved markets.

The Brier score of one market is the multi-category one, `sum over outcomes of (p_i - o_i)^2`, from 0
(certain and right) to 2 (certain and wrong); `p` are the market's probabilities right after the member's
last trade in it, `o` the resolution: 1 for the winning outcome and 0 for the others, or, for a weighted
resolution, each outcome's weight as a fraction (a proper score still: it is lowest when `p = o`). Scores are
kept in millionths, as whole numbers, so sums are exact on every database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from app.domain import limits

BRIER_SCALE = 10**6
"""Brier scores are stored in millionths."""


class RankBy(StrEnum):
    """What `/leaderboard by:` ranks members by."""

    BALANCE = "balance"
    PROFIT = "profit"
    ACCURACY = "accuracy"


def resolved_vector(resolution: Mapping[str, Any], outcomes: int) -> tuple[Decimal, ...] | None:
    """What happened, one value per outcome summing to 1; None for a cancelled market (nothing happened)."""
    if "outcome" in resolution:
        winner = int(resolution["outcome"])
        return tuple(Decimal(1) if i == winner else Decimal(0) for i in range(outcomes))
    if "weights" in resolution:
        weights = [Decimal(int(w)) for w in resolution["weights"]]
        total = sum(weights)
        if len(weights) != outcomes or total <= 0:
            raise ValueError(f"weights {resolution['weights']!r} do not describe {outcomes} outcomes")
        return tuple(w / total for w in weights)
    return None


def brier(probabilities: Sequence[Decimal], happened: Sequence[Decimal]) -> Decimal:
    """The multi-category Brier score: the sum over outcomes of (p_i - o_i)^2."""
    if len(probabilities) != len(happened):
        raise ValueError("one probability per outcome")
    return sum(((p - o) ** 2 for p, o in zip(probabilities, happened, strict=True)), Decimal(0))


def brier_millionths(probabilities: Sequence[Decimal], happened: Sequence[Decimal]) -> int:
    return int((brier(probabilities, happened) * BRIER_SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True)
class MarketResult:
    """How one member fared in one resolved market."""

    account_id: int
    user_id: int
    paid_in: int
    taken_out: int
    payout: int
    brier: int | None  # millionths; None when no trade of theirs says what they forecast

    @property
    def profit(self) -> int:
        return self.payout + self.taken_out - self.paid_in

    @property
    def won(self) -> bool:
        """A market is won when the member came out of it with more than they put in."""
        return self.profit > 0


def brier_scores(last_prices: Mapping[int, Sequence[str]], happened: Sequence[Decimal]) -> dict[int, int]:
    """Account id -> its Brier score in millionths, from the probabilities after its last trade (`last_prices`)."""
    return {
        account_id: brier_millionths([Decimal(p) for p in prices], happened)
        for account_id, prices in last_prices.items()
        if prices
    }


def market_results(
    holders: Sequence[tuple[int, int, int, int]], payouts: Mapping[int, int], scores: Mapping[int, int]
) -> list[MarketResult]:
    """Each holder's result: `holders` are (account id, user id, paid in, taken out), `payouts` what the
    resolution pays each account, `scores` their Brier scores (`brier_scores`; none for a holder whose trades
    are not on record)."""
    return [
        MarketResult(account_id, user_id, paid_in, taken_out, payouts.get(account_id, 0), scores.get(account_id))
        for account_id, user_id, paid_in, taken_out in holders
    ]


@dataclass(frozen=True, slots=True)
class ForecastRecord:
    """A member's record over every resolved market they traded in."""

    markets_traded: int  # any status
    resolved: int
    won: int
    staked: int  # points paid into the resolved markets
    profit: int  # payouts and sales minus stakes, over the resolved markets
    brier_total: int  # millionths, over `scored` markets
    scored: int

    @property
    def roi(self) -> Decimal | None:
        """Realised profit per point staked (None before anything was staked)."""
        return Decimal(self.profit) / Decimal(self.staked) if self.staked else None

    @property
    def brier(self) -> Decimal | None:
        """The mean Brier score (None before a market was scored)."""
        return mean_brier(self.brier_total, self.scored)

    @property
    def ranked_for_accuracy(self) -> bool:
        return self.scored >= limits.ACCURACY_MIN_MARKETS


def mean_brier(total: int, scored: int) -> Decimal | None:
    """The mean of `scored` Brier scores that add up to `total` millionths."""
    return Decimal(total) / Decimal(scored * BRIER_SCALE) if scored else None


def qualified_brier(brier_total: int, scored: int) -> int | None:
    """The mean Brier score in millionths, by which `/leaderboard by:accuracy` ranks, once it rests on the
    minimum of markets; None before."""
    return brier_total // scored if scored >= limits.ACCURACY_MIN_MARKETS else None
