"""The scoring of forecasts (`app/domain/records.py`), by hand-computed examples."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain import limits
from app.domain.records import (
    ForecastRecord,
    brier,
    brier_millionths,
    brier_scores,
    market_results,
    mean_brier,
    qualified_brier,
    resolved_vector,
)

D = Decimal


def test_a_resolution_to_one_outcome_is_one_for_it_and_zero_for_the_rest() -> None:
    assert resolved_vector({"outcome": 1}, 3) == (D(0), D(1), D(0))


def test_a_weighted_resolution_is_the_weights_as_fractions() -> None:
    assert resolved_vector({"weights": [70, 30]}, 2) == (D("0.7"), D("0.3"))
    with pytest.raises(ValueError):
        resolved_vector({"weights": [100]}, 2)


def test_a_cancelled_market_says_nothing_happened() -> None:
    assert resolved_vector({"cancelled": "rain"}, 2) is None


def test_brier_is_the_sum_of_squared_differences_over_every_outcome() -> None:
    # Yes/No at 70% / 30%, resolved Yes: (0.7 - 1)^2 + (0.3 - 0)^2 = 0.09 + 0.09.
    assert brier([D("0.7"), D("0.3")], [D(1), D(0)]) == D("0.18")
    # Three outcomes at 50 / 30 / 20%, the third won: 0.25 + 0.09 + 0.64.
    assert brier([D("0.5"), D("0.3"), D("0.2")], resolved_vector({"outcome": 2}, 3) or ()) == D("0.98")
    # Certain and right, certain and wrong: the two ends of the scale.
    assert brier([D(1), D(0)], [D(1), D(0)]) == 0
    assert brier([D(0), D(1)], [D(1), D(0)]) == 2


def test_a_weighted_resolution_scores_lowest_for_the_forecast_that_matched_the_weights() -> None:
    happened = resolved_vector({"weights": [70, 30]}, 2) or ()
    assert brier([D("0.7"), D("0.3")], happened) == 0
    assert brier([D("0.6"), D("0.4")], happened) == D("0.02")


def test_scores_are_kept_in_millionths_rounded_half_even() -> None:
    assert brier_millionths([D("0.7"), D("0.3")], [D(1), D(0)]) == 180_000
    third = D(1) / D(3)
    assert brier_millionths([third, 1 - third], [D(1), D(0)]) == 888_889  # 0.8888…


def test_market_results_take_each_holders_last_prices_and_payout() -> None:
    scores = brier_scores({1: ("0.7", "0.3"), 2: ("0.4", "0.6")}, happened=(D(1), D(0)))
    results = market_results(
        holders=[(1, 101, 100, 0), (2, 102, 300, 50), (3, 103, 40, 0)], payouts={1: 180}, scores=scores
    )
    assert [(r.user_id, r.profit, r.won, r.brier) for r in results] == [
        (101, 80, True, 180_000),
        (102, -250, False, 720_000),  # (0.4 - 1)^2 + 0.6^2 = 0.72
        (103, -40, False, None),  # no trade of theirs on record: not scored
    ]


def test_a_record_gives_roi_and_the_mean_brier_score() -> None:
    record = ForecastRecord(markets_traded=3, resolved=2, won=1, staked=400, profit=-170, brier_total=900_000, scored=2)
    assert record.roi == D("-0.425")
    assert record.brier == D("0.45")
    assert not record.ranked_for_accuracy
    empty = ForecastRecord(0, 0, 0, 0, 0, 0, 0)
    assert empty.roi is None and empty.brier is None


def test_accuracy_ranks_only_from_the_minimum_of_markets() -> None:
    minimum = limits.ACCURACY_MIN_MARKETS
    assert qualified_brier(900_000, minimum - 1) is None
    assert qualified_brier(1_000_000, minimum) == 1_000_000 // minimum
    assert mean_brier(1_160_000, 2) == D("0.58")
    assert mean_brier(0, 0) is None
