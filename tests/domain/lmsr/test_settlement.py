"""Settlement: resolution and weighted payouts on whole micro-shares, cancellation refunds, and scaling
refunds down to what the pool holds."""

from __future__ import annotations

import decimal
import enum
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.limits import MAX_SHARES, SHARE_PLACES
from app.domain.lmsr import (
    buy,
    cancellation_refunds,
    new_market,
    resolution_payouts,
    scale_to_fit,
    sell,
    weighted_payouts,
)
from tests.domain.lmsr.reference import exactly

D = Decimal
MAX_MICRO = int(MAX_SHARES) * 10**SHARE_PLACES  # 10**18, inside a BIGINT


def micro(*shares: str | int) -> list[int]:
    """Shares written as decimals, as the whole micro-shares settlement takes."""
    out = [D(s).scaleb(SHARE_PLACES) for s in shares]
    assert all(m == m.to_integral_value() for m in out)
    return [int(m) for m in out]


# -- resolution -------------------------------------------------------------------------------------


def test_resolution_pays_floor_of_the_winning_shares() -> None:
    holdings = {"a": micro("10.999999", "3"), "b": micro("0.5", "7.25"), "c": micro(0, 0)}
    assert holdings["a"] == [10_999_999, 3_000_000]
    assert resolution_payouts(holdings, 0) == {"a": 10}
    assert resolution_payouts(holdings, 1) == {"a": 3, "b": 7}
    assert resolution_payouts({}, 1) == {}


def test_weighted_resolution() -> None:
    holdings = {"a": micro(10, 3, 0), "b": micro("0.5", "7.25", "99.999999"), "c": micro(1, 0, 0)}
    # a: 10*.5 + 3*.25 = 5.75 -> 5; b: .25 + 1.8125 + 24.99999975 = 27.06 -> 27; c: 0.5 -> 0 (omitted)
    assert weighted_payouts(holdings, [50, 25, 25]) == {"a": 5, "b": 27}
    assert weighted_payouts(holdings, [100, 0, 0]) == resolution_payouts(holdings, 0)


def test_payouts_are_exact_at_the_storage_bound() -> None:
    """10**12 shares (10**18 micro-shares) of each outcome: integer arithmetic loses nothing."""
    holdings = {"whale": [MAX_MICRO, MAX_MICRO - 1], "minnow": [999_999, 1]}
    assert resolution_payouts(holdings, 0) == {"whale": 10**12}
    assert resolution_payouts(holdings, 1) == {"whale": 10**12 - 1}
    assert weighted_payouts(holdings, [1, 99]) == {"whale": (MAX_MICRO + 99 * (MAX_MICRO - 1)) // 10**8}


def test_rows_may_be_any_sequence_and_keys_any_hashable() -> None:
    class Micro(enum.IntEnum):
        TWO_SHARES = 2_000_000

    holdings: dict[Any, Any] = {(1, 2): (3_000_000, 0), 7: [Micro.TWO_SHARES, 5_000_000], "x": range(2)}
    assert resolution_payouts(holdings, 0) == {(1, 2): 3, 7: 2}
    assert weighted_payouts(holdings, [50, 50]) == {(1, 2): 1, 7: 3}


@pytest.mark.parametrize(
    "weights",
    [[50, 40, 5], [50, 50, 50], [110, -10, 0], [50.0, 25, 25], [True, 99, 0], [100], [50, 25, 25, 0], "abc"],
)
def test_weights_are_validated(weights: Any) -> None:
    with pytest.raises(ValidationError):
        weighted_payouts({"a": micro(1, 2, 3)}, weights)


def test_holdings_are_validated() -> None:
    for bad in ([D("NaN"), 10**6], [-1, 10**6], [D("0.1"), 10**6], [10**6], [1.0, 10**6]):
        with pytest.raises(ValidationError):
            resolution_payouts({"a": bad}, 0)
    with pytest.raises(ValidationError):
        resolution_payouts({"a": micro(1, 2), "b": micro(1, 2, 3)}, 0)
    with pytest.raises(ValidationError):
        resolution_payouts({"a": micro(1, 2)}, 2)
    with pytest.raises(ValidationError):
        resolution_payouts({"a": micro(1, 2)}, -1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "A holding must be a whole number of micro-shares."),
        (D(1_000_000), "A holding must be a whole number of micro-shares."),
        (1_000_000.0, "A holding must be a whole number of micro-shares."),
        ("1000000", "A holding must be a whole number of micro-shares."),
        (None, "A holding must be a whole number of micro-shares."),
        (-1, "A holding can't be negative."),
        (MAX_MICRO + 1, "A holding is larger than this market supports."),
    ],
)
def test_each_holding_is_whole_micro_shares_within_storage(value: Any, message: str) -> None:
    good = {"ok": [5_000_000, 0, 0]}
    for row in ([value, 0, 0], [0, 0, value]):
        with pytest.raises(ValidationError, match=exactly(message)):
            resolution_payouts({**good, "bad": row}, 0)
        with pytest.raises(ValidationError, match=exactly(message)):
            weighted_payouts({**good, "bad": row}, [50, 25, 25])


@pytest.mark.parametrize(
    "holdings",
    [
        {"a": [1]},  # one outcome
        {"a": [0] * 11},  # eleven outcomes
        {"a": [1, 2], "b": [1, 2, 3]},  # rows of different lengths
        {"a": "12"},
        {"a": b"12"},
        {"a": {1, 2}},
        {"a": 12},
    ],
)
def test_every_row_lists_each_outcome(holdings: Any) -> None:
    with pytest.raises(ValidationError, match=exactly("Holdings must list the shares of every outcome.")):
        resolution_payouts(holdings, 0)


def test_weighted_rows_match_the_weights() -> None:
    with pytest.raises(ValidationError, match="every outcome"):
        weighted_payouts({"a": [1, 2, 3]}, [50, 50])
    with pytest.raises(ValidationError, match="every outcome"):
        weighted_payouts({"a": [1, 2], "b": [1, 2, 3]}, [50, 50])


@given(
    st.lists(st.lists(st.integers(0, MAX_MICRO), min_size=3, max_size=3), max_size=8),
    st.integers(0, 100),
    st.integers(0, 100),
)
def test_micro_share_payouts_floor_the_shares(rows: list[list[int]], cut1: int, cut2: int) -> None:
    """The same floors as on the shares themselves: floor(shares) and floor(sum shares_i w_i / 100)."""
    holdings = dict(enumerate(rows))
    low, high = sorted((cut1, cut2))
    weights = [low, high - low, 100 - high]
    shares = {k: [D(m).scaleb(-SHARE_PLACES) for m in row] for k, row in holdings.items()}
    for outcome in range(3):
        expected = {k: int(row[outcome]) for k, row in shares.items() if int(row[outcome])}
        assert resolution_payouts(holdings, outcome) == expected
    with decimal.localcontext(decimal.Context(prec=60)):
        exact = {k: sum(s * w for s, w in zip(row, weights, strict=True)) / 100 for k, row in shares.items()}
    assert weighted_payouts(holdings, weights) == {k: int(v) for k, v in exact.items() if int(v)}


def test_settling_a_hundred_thousand_holders_is_fast() -> None:
    holdings = {k: [k * 1_234_567 % MAX_MICRO, k, 0, 10**12, 5] for k in range(100_000)}
    start = time.process_time()
    resolution_payouts(holdings, 0)
    weighted_payouts(holdings, [20, 20, 20, 20, 20])
    assert time.process_time() - start < 2  # ~0.1 s; the Decimal version took ~1.5 s


# -- cancellation -----------------------------------------------------------------------------------


def test_cancellation_refunds_net_stakes_floored_at_zero() -> None:
    flows = {"a": (100, 30), "b": (50, 80), "c": (0, 0), "d": (7, 0)}
    assert cancellation_refunds(flows) == {"a": 70, "d": 7}
    for bad in [(1.5, 0), (-1, 0), (1, "2"), (1, 2, 3), [1, 2], (True, 0)]:
        with pytest.raises(ValidationError):
            cancellation_refunds({"a": bad})  # type: ignore[dict-item]


def test_cancellation_refunds_can_exceed_the_pool() -> None:
    """The rule as specified (net stake, floored at 0) lets a trader keep a profit taken by selling,
    which can exceed L; the others' refunds then exceed what the market holds. Exactly:
    sum(refunds) = pool - L + sum(profits taken). The settlement service scales refunds to fit."""
    state, pool, flows = new_market(2, 1000), 1000, {}

    def trade(who: str, outcome: int, points: int | None = None, shares: Decimal | None = None) -> Decimal:
        nonlocal state, pool
        paid, taken = flows.get(who, (0, 0))
        if points is not None:
            result = buy(state, outcome, points)
            pool, flows[who] = pool + points, (paid + points, taken)
        else:
            assert shares is not None
            result = sell(state, outcome, shares, held=shares)
            pool, flows[who] = pool - result.points, (paid, taken + result.points)
        state = result.state
        return result.shares

    for round_ in range(2):
        got = trade("alice", 0, points=5000)
        trade(f"bob{round_}", 0, points=100_000)
        trade("alice", 0, shares=got)
        trade(f"carol{round_}", 1, points=100_000)
    refunds = cancellation_refunds(flows)
    profit = sum(max(0, taken - paid) for paid, taken in flows.values())
    assert sum(refunds.values()) == pool - 1000 + profit
    assert profit > 1000 and sum(refunds.values()) > pool
    # ... and scaled to fit, they don't.
    scaled = scale_to_fit(refunds, pool)
    assert scaled.keys() == refunds.keys() and pool - len(refunds) < sum(scaled.values()) <= pool


# -- scaling refunds to the pool --------------------------------------------------------------------


def test_scale_to_fit_leaves_amounts_that_fit_alone() -> None:
    amounts = {"a": 70, "b": 30}
    assert scale_to_fit(amounts, 100) is amounts
    assert scale_to_fit(amounts, 10**9) is amounts
    assert scale_to_fit({}, 0) == {}


def test_scale_to_fit_shares_a_shortfall_pro_rata_rounding_down() -> None:
    assert scale_to_fit({"a": 70, "b": 30}, 50) == {"a": 35, "b": 15}
    assert scale_to_fit({"a": 2, "b": 1}, 2) == {"a": 1, "b": 0}  # 4/3 and 2/3, floored
    assert scale_to_fit({"a": 1, "b": 1, "c": 1}, 2) == {"a": 0, "b": 0, "c": 0}
    assert scale_to_fit({"a": 10**12, "b": 3}, 10**12) == {"a": 10**12 * 10**12 // (10**12 + 3), "b": 2}
    assert scale_to_fit({"a": 5}, 0) == {"a": 0}


@given(st.dictionaries(st.integers(), st.integers(1, 10**12), max_size=30), st.integers(0, 10**13))
def test_scale_to_fit_never_pays_out_more_than_is_available(amounts: dict[int, int], available: int) -> None:
    scaled = scale_to_fit(amounts, available)
    assert scaled.keys() == amounts.keys()
    assert sum(scaled.values()) <= max(available, sum(amounts.values()))
    assert all(0 <= scaled[k] <= v for k, v in amounts.items())
    total = sum(amounts.values())
    if total <= available:
        assert scaled == amounts
    else:
        assert sum(scaled.values()) <= available
        assert available - len(amounts) < sum(scaled.values())  # each floor loses less than a point
        assert all(scaled[k] == v * available // total for k, v in amounts.items())
