"""Trading: worked examples checked against an independent computation (floats from :mod:`math`, and
mpmath at high precision), and the guards of every trade."""

from __future__ import annotations

import decimal
import math
from decimal import Decimal
from typing import Any

import pytest

from app.domain import lmsr
from app.domain.errors import InsufficientBalance, MarketNotOpen, ValidationError
from app.domain.limits import MAX_POINTS, MAX_SHARES
from app.domain.lmsr import (
    SHARE_QUANTUM,
    MarketState,
    TradeResult,
    buy,
    cost,
    new_market,
    points_for_shares,
    prices,
    quote_buy,
    quote_sell,
    resolution_payouts,
    sell,
    weighted_payouts,
)
from tests.domain.lmsr.reference import as_mp, exactly, floor6, mp, ref_cost, ref_price, ref_proceeds, ref_shares

D = Decimal


def test_buy_and_sell_are_their_quotes() -> None:
    assert lmsr.buy is lmsr.quote_buy and lmsr.sell is lmsr.quote_sell


# -- worked examples --------------------------------------------------------------------------------


def test_buy_100_of_1000_two_outcomes_with_floats() -> None:
    """L = 1000, N = 2, buy 100 of outcome 0, checked with plain floats."""
    b = 1000 / math.log(2)
    expected = b * math.log(1 + (math.exp(100 / b) - 1) / 0.5)  # = b ln(2 e^(X/b) - 1)
    result = buy(new_market(2, 1000), 0, 100)
    assert result.points == 100 and result.outcome == 0
    assert abs(float(result.shares) - expected) < 1e-6
    assert result.shares == result.shares.quantize(SHARE_QUANTUM)
    assert float(result.shares) <= expected + 1e-9  # rounded down
    after = math.exp(float(result.shares) / b)
    assert abs(float(result.price_after) - after / (after + 1)) < 1e-12
    assert result.price_before == D("0.5")
    assert result.state.shares == (result.shares, D("0.000000"))


def test_buy_100_of_1000_two_outcomes_exactly() -> None:
    mpmath = mp()
    with mpmath.workdps(100):
        exact = ref_shares(1000, [0, 0], 0, 100, mpmath)
        result = buy(new_market(2, 1000), 0, 100)
        assert result.shares == floor6(exact, mpmath) == D("193.515567")
        price = ref_price(1000, as_mp(result.state.shares, mpmath), 0, mpmath)
        assert abs(mpmath.mpf(str(result.price_after)) - price) < mpmath.mpf("1e-48")
        # Selling it all straight back returns the cost difference, floored: a point under the stake.
        back = sell(result.state, 0, result.shares, held=result.shares)
        proceeds = ref_proceeds(1000, as_mp(result.state.shares, mpmath), 0, result.shares, mpmath)
        assert proceeds < 100
        assert back.points == int(mpmath.floor(proceeds)) == 99
        assert back.state.shares == (D("0.000000"), D("0.000000"))


def test_a_sequence_on_three_outcomes_matches_the_definition() -> None:
    mpmath = mp()
    with mpmath.workdps(120):
        state = new_market(3, 100)
        for outcome, points in [(2, 50), (0, 30), (2, 7), (1, 1), (0, 250)]:
            q = as_mp(state.shares, mpmath)
            result = buy(state, outcome, points)
            assert result.shares == floor6(ref_shares(100, q, outcome, points, mpmath), mpmath)
            assert result.price_before == prices(state)[outcome]
            assert result.price_after == prices(result.state)[outcome]
            state = result.state
        for outcome, shares in [(2, D("10")), (0, D("123.456789")), (1, D("0.5"))]:
            q = as_mp(state.shares, mpmath)
            exact = ref_proceeds(100, q, outcome, shares, mpmath)
            assert points_for_shares(state, outcome, shares) == int(mpmath.floor(exact))
            if exact >= 1:
                result = sell(state, outcome, shares, held=shares)
                assert result.points == int(mpmath.floor(exact))
                state = result.state
        assert abs(mpmath.mpf(str(cost(state))) - ref_cost(100, as_mp(state.shares, mpmath), mpmath)) < 1e-40


def test_buying_a_near_certain_outcome_gives_whole_shares() -> None:
    """Exactly, Delta = 50 + (something around 1e-150): it must floor to 50.000000, not 49.999999."""
    state = MarketState(10, (D("5000"), D("0")))
    result = buy(state, 0, 50)
    assert result.shares == D("50.000000")


def test_lopsided_market_buy_lands_just_above_the_grid() -> None:
    """N = 3, L = 1, q = (200, 0, 0), buy 300 of outcome 1. With b = 1/ln 3, exp(q/b) = 3**q, so
    Delta = 300 + 200 + b ln(1 + 2*3**-200 - (1 + 3**-200) 3**-300): just above 500. A plain
    50-digit evaluation can't see the excess; the grid + small split does."""
    mpmath = mp()
    result = buy(MarketState(1, (D(200), D(0), D(0))), 1, 300)
    assert result.shares == D("500.000000")
    with mpmath.workdps(400):
        exact = ref_shares(1, [200, 0, 0], 1, 300, mpmath)
        assert 500 < exact < mpmath.mpf("500.000001")


def test_underdog_buy_in_a_lopsided_market_matches_the_definition() -> None:
    mpmath = mp()
    state = MarketState(10, (D("5000"), D("0")))
    result = buy(state, 1, 7)
    with mpmath.workdps(400):
        assert result.shares == floor6(ref_shares(10, [5000, 0], 1, 7, mpmath), mpmath)


def test_sale_that_hands_the_lead_over_lands_just_above_an_integer() -> None:
    """N = 2, L = 1 (exp(q/b) = 2**q), q = (1000, 800), sell 500 of outcome 0:
    R = 200 + b (ln(1 + 2**-200) - ln(1 + 2**-300)), a hair above 200, so the seller gets 200."""
    mpmath = mp()
    state = MarketState(1, (D(1000), D(800)))
    result = sell(state, 0, D(500), held=D(500))
    assert result.points == 200
    with mpmath.workdps(300):
        exact = ref_proceeds(1, [1000, 800], 0, 500, mpmath)
        assert 200 < exact < 201


def test_leader_sale_just_below_an_integer() -> None:
    """q = (1000, 0), L = 1: selling 300 of the leader returns 300 minus ~2**-700: 299 points."""
    assert sell(MarketState(1, (D(1000), D(0))), 0, D(300), held=D(300)).points == 299


def test_points_for_shares_is_the_sale_value() -> None:
    state = buy(buy(new_market(4, 500), 1, 400).state, 3, 80).state
    for outcome, shares in [(1, D("100")), (3, D("12.345678")), (1, D("1"))]:
        value = points_for_shares(state, outcome, shares)
        if value:
            assert sell(state, outcome, shares, held=shares).points == value
    assert points_for_shares(state, 0, D(0)) == 0
    closed = MarketState(state.liquidity, state.shares, is_open=False)
    assert points_for_shares(closed, 1, D(100)) == points_for_shares(state, 1, D(100))


def test_trade_result_state_is_the_market_afterwards() -> None:
    state = new_market(3, 300)
    result = quote_buy(state, 1, 250)
    assert isinstance(result, TradeResult)
    assert state.shares == (D("0.000000"),) * 3  # quoting doesn't touch the input
    assert result.state.shares[1] == result.shares and result.state.liquidity == 300
    # The same state rebuilt from storage prices identically, to the bit.
    rebuilt = MarketState(300, tuple(D(str(q)) for q in result.state.shares))
    assert prices(rebuilt) == prices(result.state) and prices(rebuilt)[1] == result.price_after
    assert cost(rebuilt) == cost(result.state)
    assert quote_sell(result.state, 1, D(5), held=D(5)) == sell(rebuilt, 1, D(5), held=D(5))


def test_results_ignore_the_callers_decimal_context() -> None:
    def run() -> list[Any]:
        out: list[Any] = []
        state = new_market(3, 100)
        for outcome, points in [(0, 50), (1, 1000), (0, 7), (2, 123456789)]:
            result = buy(state, outcome, points)
            out.append(result)
            state = result.state
        result = sell(state, 2, D("12.5"), held=D(1000))
        out += [result, points_for_shares(result.state, 0, D(3)), cost(result.state), prices(result.state)]
        out.append(weighted_payouts({1: [1_000_000, 2_000_000, 3_500_000]}, [20, 30, 50]))
        out.append(resolution_payouts({1: [1_000_000, 2_000_000, 3_500_000]}, 2))
        return out

    plain = run()
    hostile = decimal.Context(
        prec=3,
        rounding=decimal.ROUND_UP,
        Emax=10,
        Emin=-10,
        traps=[
            decimal.Inexact,
            decimal.Rounded,
            decimal.Subnormal,
            decimal.Underflow,
            decimal.Clamped,
            decimal.Overflow,
            decimal.InvalidOperation,
            decimal.DivisionByZero,
        ],
    )
    with decimal.localcontext(hostile):
        assert repr(run()) == repr(plain)


# -- guards -----------------------------------------------------------------------------------------


def test_trading_a_closed_market_is_refused() -> None:
    closed = MarketState(100, (D(50), D(0)), is_open=False)
    with pytest.raises(MarketNotOpen, match="closed"):
        quote_buy(closed, 0, 10)
    with pytest.raises(MarketNotOpen):
        quote_sell(closed, 0, D(1), held=D(50))


@pytest.mark.parametrize("outcome", [-1, 2, 10, True, "0", 0.0, None])
def test_unknown_outcome(outcome: Any) -> None:
    state = new_market(2, 100)
    with pytest.raises(ValidationError, match="outcome"):
        quote_buy(state, outcome, 10)
    with pytest.raises(ValidationError, match="outcome"):
        quote_sell(buy(state, 0, 10).state, outcome, D(1), held=D(1))
    with pytest.raises(ValidationError, match="outcome"):
        points_for_shares(state, outcome, D(1))


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (0, "minimum"),
        (-5, "minimum"),
        (1.5, "whole"),
        (10.0, "whole"),
        (True, "whole"),
        ("10", "whole"),
        (D("NaN"), "whole"),
        (D("sNaN"), "whole"),
        (D("Infinity"), "whole"),
        (D("2.5"), "whole"),
        (float("nan"), "whole"),
        (float("inf"), "whole"),
        (10**12 + 1, "maximum"),
    ],
)
def test_buy_amount_guards(points: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        quote_buy(new_market(2, 100), 0, points)


def test_buy_respects_the_configured_maximum() -> None:
    state = new_market(2, 100)
    assert quote_buy(state, 0, 500, max_points=500).points == 500
    with pytest.raises(ValidationError, match="maximum trade is 500 points"):
        quote_buy(state, 0, 501, max_points=500)
    with pytest.raises(ValidationError, match="1,000,000"):
        quote_buy(state, 0, 1_000_001, max_points=1_000_000)
    assert quote_buy(state, 0, D(7)).points == 7  # an integral Decimal is a whole amount
    with pytest.raises(ValueError):
        quote_buy(state, 0, 5, max_points=0)


def test_a_single_point_always_buys_at_least_a_share() -> None:
    """Delta >= X because no price exceeds 1, so 'too small to buy any shares' can't happen for X >= 1."""
    for state in [new_market(10, 10**12), MarketState(1, (D(10**9), D(0))), MarketState(10**12, (D(0), D(10**9)))]:
        for outcome in (0, 1):
            assert quote_buy(state, outcome, 1).shares >= 1


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        (D(0), "more than 0"),
        (D("-1"), "more than 0"),
        (D("NaN"), "finite"),
        (D("sNaN"), "finite"),
        (D("Infinity"), "finite"),
        (D("0.0000001"), "6 decimal places"),
        (D("1.1234567"), "6 decimal places"),
        (1.5, "exact"),
        (True, "exact"),
        ("1", "exact"),
    ],
)
def test_sell_amount_guards(shares: Any, message: str) -> None:
    state = buy(new_market(2, 100), 0, 100).state
    with pytest.raises(ValidationError, match=message):
        quote_sell(state, 0, shares, held=D(100))


def test_selling_more_than_held() -> None:
    state = buy(new_market(2, 100), 0, 100).state
    with pytest.raises(InsufficientBalance, match=r"only hold 12\.5 shares"):
        quote_sell(state, 0, D("12.500001"), held=D("12.5"))
    with pytest.raises(InsufficientBalance):
        quote_sell(state, 1, D(1), held=D(0))
    for held in (D("NaN"), D("-1"), 2.0):
        with pytest.raises(ValidationError):
            quote_sell(state, 0, D(1), held=held)


def test_selling_more_than_the_market_has_outstanding() -> None:
    state = buy(new_market(2, 100), 0, 100).state
    with pytest.raises(ValidationError, match="doesn't have that many"):
        quote_sell(state, 0, state.shares[0] + 1, held=state.shares[0] + 1)


def test_a_sale_worth_nothing_is_refused() -> None:
    state = buy(new_market(2, 100), 0, 100).state
    with pytest.raises(ValidationError, match="too small to return any points"):
        quote_sell(state, 0, D("0.5"), held=D(1))
    assert points_for_shares(state, 0, D("0.5")) == 0


def test_one_trade_is_bounded_by_the_largest_amount() -> None:
    state = new_market(2, 100)
    assert MAX_POINTS == 10**12
    assert quote_buy(state, 1, 10**9, max_points=10**15).points == 10**9
    with pytest.raises(ValidationError, match=exactly("The maximum trade is 1,000,000,000,000 points.")):
        quote_buy(state, 1, MAX_POINTS + 1)
    with pytest.raises(ValidationError, match=exactly("The maximum trade is 1,000,000,000,000 points.")):
        quote_buy(state, 1, MAX_POINTS + 1, max_points=10**15)  # a configured maximum can't raise it
    # MAX_POINTS itself passes the amount guard, but always buys more shares than storage holds.
    with pytest.raises(ValidationError, match=exactly("That trade is larger than this market supports.")):
        quote_buy(state, 1, MAX_POINTS)


def test_a_buy_past_the_storage_bound_is_refused() -> None:
    """Outstanding shares of one outcome stay within what storage holds: 10**12 shares."""
    state = MarketState(100, (MAX_SHARES - 150, D(0)))
    assert quote_buy(state, 0, 100).state.shares[0] == MAX_SHARES - 50  # the leader's price is ~1
    with pytest.raises(ValidationError, match=exactly("That trade is larger than this market supports.")):
        quote_buy(state, 0, 200)
