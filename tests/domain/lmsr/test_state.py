"""A market's state: fresh markets, the validation and normalisation of shares, cost and prices against
an independent computation (mpmath), and the analysis cached on the state object."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest

from app.domain.errors import ValidationError
from app.domain.limits import MAX_POINTS, MAX_SHARES, OUTCOMES
from app.domain.lmsr import SHARE_QUANTUM, MarketState, buy, cost, new_market, prices, sell
from app.domain.lmsr.state import analysis, as_shares
from tests.domain.lmsr.reference import as_mp, exactly, mp, ref_cost, ref_price

D = Decimal


@pytest.mark.parametrize("n", range(2, 11))
def test_fresh_market(n: int) -> None:
    state = new_market(n, 1000)
    assert state.shares == (D("0.000000"),) * n and state.is_open and state.n == n
    wide = decimal.Context(prec=60)
    assert abs(state.b - wide.divide(D(1000), D(n).ln(wide))) < D("1e-45")
    assert all(abs(p - wide.divide(1, n)) < D("1e-48") for p in prices(state))
    with decimal.localcontext(wide):
        assert abs(sum(prices(state)) - 1) < D("1e-48")
    assert abs(cost(state) - 1000) < D("1e-45")  # C(0) = b ln N = L


def test_state_normalises_shares_to_six_places() -> None:
    state = MarketState(10, (D("1.5"), 2, D("0E-6")))
    assert state.shares == (D("1.500000"), D("2.000000"), D("0.000000"))
    assert [str(q) for q in state.shares] == ["1.500000", "2.000000", "0.000000"]
    assert state == MarketState(10, (D("1.500000"), D(2), D(0)))


def test_cost_and_prices_match_the_definition() -> None:
    mpmath = mp()
    with mpmath.workdps(120):
        cases = [(100, (D("12.5"), D(0), D("700.000001"))), (7, (D(300), D(299))), (10**6, (D(1),) * 10)]
        for liquidity, shares in cases:
            state = MarketState(liquidity, shares)
            q = as_mp(state.shares, mpmath)
            assert abs(mpmath.mpf(str(cost(state))) - ref_cost(liquidity, q, mpmath)) < mpmath.mpf("1e-40") * liquidity
            for i, p in enumerate(prices(state)):
                assert abs(mpmath.mpf(str(p)) - ref_price(liquidity, q, i, mpmath)) < mpmath.mpf("1e-48")


# -- guards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "liquidity"), [(1, 100), (11, 100), (0, 100), (2, 0), (2, -5), (2, 10**13)])
def test_new_market_rejects_bad_shapes(n: int, liquidity: int) -> None:
    with pytest.raises(ValidationError):
        new_market(n, liquidity)


@pytest.mark.parametrize("n", [True, 2.0, "2", None])
def test_new_market_needs_a_whole_number_of_outcomes(n: Any) -> None:
    with pytest.raises(ValidationError, match="between 2 and 10 outcomes"):
        new_market(n, 100)


@pytest.mark.parametrize("liquidity", [1.5, True, D(100), "100", None])
def test_liquidity_must_be_an_int(liquidity: Any) -> None:
    with pytest.raises(ValidationError):
        MarketState(liquidity, (D(0), D(0)))


def test_liquidity_is_bounded_by_the_largest_amount() -> None:
    assert MAX_POINTS == 10**12
    assert MarketState(MAX_POINTS, (D(0), D(0))).liquidity == MAX_POINTS
    with pytest.raises(ValidationError, match="from 1 to 1,000,000,000,000"):
        MarketState(MAX_POINTS + 1, (D(0), D(0)))


@pytest.mark.parametrize(
    "bad",
    [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), D("-1"), D("0.0000001"), 1.5, True, "3", D(10**16)],
)
def test_state_rejects_bad_shares(bad: Any) -> None:
    with pytest.raises(ValidationError):
        MarketState(100, (D(0), bad))


def test_outstanding_shares_are_bounded_by_storage() -> None:
    """Shares are stored as micro-shares in a BIGINT: 10**12 shares at most, per outcome."""
    assert D(10**12) == MAX_SHARES
    assert MarketState(100, (D(0), MAX_SHARES)).shares[1] == MAX_SHARES
    with pytest.raises(ValidationError, match="larger than this market supports"):
        MarketState(100, (D(0), MAX_SHARES + SHARE_QUANTUM))
    with pytest.raises(ValidationError, match="larger than this market supports"):
        as_shares(10**12 + 1, "A holding")


def test_state_needs_two_to_ten_outcomes() -> None:
    assert (OUTCOMES.low, OUTCOMES.high) == (2, 10)
    with pytest.raises(ValidationError, match="between 2 and 10"):
        MarketState(100, (D(0),))
    with pytest.raises(ValidationError):
        MarketState(100, (D(0),) * 11)
    with pytest.raises(ValidationError, match="listed per outcome"):
        MarketState(100, "00")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (D("-0.5"), "can't be negative."),
        (D("1.0000001"), "can have at most 6 decimal places."),
        (D("Infinity"), "must be a finite number of shares."),
        (0.5, "must be an exact number of shares."),
    ],
)
def test_share_validation_messages(value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=exactly(f"Your holding {message}")):
        as_shares(value, "Your holding")
    assert as_shares(D("-0"), "x") == D("0.000000") and not as_shares(D("-0"), "x").is_signed()


# -- the cached analysis ----------------------------------------------------------------------------


def test_the_analysis_is_cached_on_the_state() -> None:
    state = MarketState(100, (D(5), D(0), D(0)))
    first = analysis(state)
    assert analysis(state) is first
    assert analysis(MarketState(100, (D(5), D(0), D(0)))) == first  # a pure function of the fields
    assert first.lead == 0 and first.m == D(5)


def test_a_trade_leaves_its_state_analysed_as_a_fresh_state_would_be() -> None:
    state = new_market(4, 50)
    for outcome, points in [(0, 30), (3, 5000), (1, 1), (3, 10**6)]:  # the last moves the band
        result = buy(state, outcome, points)
        cached = result.state.__dict__["_lmsr_analysis"]
        assert analysis(result.state) is cached
        assert cached == analysis(MarketState(50, result.state.shares))
        state = result.state
    result = sell(state, 3, D(1000), held=D(1000))
    assert analysis(result.state) == analysis(MarketState(50, result.state.shares))
