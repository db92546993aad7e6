"""Subsidies (`app/domain/lmsr/subsidy.py`): more liquidity, the same prices, the worst case still covered, on
fresh and on heavily traded markets, before and after further trading."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.lmsr import (
    MarketState,
    buy,
    cost,
    new_market,
    prices,
    required_pool,
    resolution_payouts,
    sell,
    subsidize,
)
from app.domain.lmsr.subsidy import exact_step

PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _state(liquidity: int, micro: tuple[int, ...]) -> MarketState:
    return MarketState(liquidity=liquidity, shares=tuple(Decimal(m).scaleb(-6) for m in micro))


def _micro(state: MarketState) -> tuple[int, ...]:
    return tuple(int(q.scaleb(6)) for q in state.shares)


def test_a_fresh_market_gains_exactly_the_subsidy_as_liquidity() -> None:
    assert subsidize(1000, (0, 0), (0, 0), 1000, 250) == (1250, (0, 0))
    assert subsidize(10, (0,) * 10, (0,) * 10, 10, 1) == (11, (0,) * 10)


def test_a_traded_market_keeps_its_prices_and_covers_its_worst_case() -> None:
    state = buy(_state(1000, (0, 0, 0)), 0, 700).state
    state = buy(state, 2, 150).state
    x = _micro(state)
    pool = 1000 + 700 + 150
    liquidity, deeper = subsidize(1000, x, x, pool, 500)
    assert 1000 < liquidity < 1500  # a moved market gets less depth for its points than a fresh one
    before, after = prices(state), prices(_state(liquidity, deeper))
    assert max(abs(a - b) for a, b in zip(before, after, strict=True)) < Decimal("1e-9")
    assert required_pool(liquidity, deeper, x) <= pool + 500
    assert min(d - q for d, q in zip(deeper, x, strict=True)) == 0  # the shift: never negative, smallest 0


def _moved(state: MarketState, deeper: MarketState) -> Decimal:
    return max(abs(a - b) for a, b in zip(prices(state), prices(deeper), strict=True))


def test_a_small_market_keeps_its_prices_to_1e_9() -> None:
    state = buy(new_market(2, 10), 1, 5).state  # rounding its deepened state to micro-shares moved it by 4e-9
    x = _micro(state)
    liquidity, deeper = subsidize(10, x, x, 15, 20)
    assert liquidity > 10 and _moved(state, _state(liquidity, deeper)) <= Decimal("1e-9")
    assert required_pool(liquidity, deeper, x) <= 15 + 20


def test_a_deepening_by_a_multiple_of_the_exact_step_leaves_every_price_exactly_as_it_was() -> None:
    x = (3_000_001, 0, 1_250_000)  # differences 3000001 and 1250000 have no factor in common with 10
    assert exact_step(10, x) == 10 and exact_step(10, (5, 5)) == 1 and exact_step(12, (0, 4_000_006)) == 6
    state = _state(10, x)
    for liquidity in (20, 30, 60):
        scaled = tuple(v * liquidity // 10 for v in x)  # k x, whole micro-shares
        assert _moved(state, _state(liquidity, scaled)) < Decimal("1e-45")
    # 14 points buy at most 12 more, but rounding the state at 12 or 11 more moves a price by over 1e-9: 10, exactly
    assert subsidize(10, x, x, 10**6, 14) == (20, (6_000_002, 0, 2_500_000))


def test_a_subsidy_that_buys_no_liquidity_without_moving_prices_is_refused_with_what_would() -> None:
    state = buy(new_market(2, 10), 1, 5).state
    x = _micro(state)
    with pytest.raises(ValidationError, match="without moving its prices: subsidise at least 15 points"):
        subsidize(10, x, x, 15, 10)
    liquidity, deeper = subsidize(10, x, x, 15, 15)
    assert liquidity == 20 and _moved(state, _state(liquidity, deeper)) < Decimal("1e-45")


def test_too_small_a_subsidy_is_refused() -> None:
    state = buy(_state(100, (0, 0)), 0, 5000).state  # lopsided: a point buys no whole unit of liquidity
    x = _micro(state)
    with pytest.raises(ValidationError, match="subsidise at least"):
        subsidize(100, x, x, 5100, 1)
    with pytest.raises(ValidationError, match="whole number of points"):
        subsidize(100, x, x, 5100, 0)


@st.composite
def _traded(draw: st.DrawFn) -> tuple[MarketState, tuple[int, ...], int]:
    n = draw(st.integers(2, 10))
    liquidity = draw(st.integers(10, 400) | st.integers(10, 1_000_000))  # small markets: rounding moves most
    state = _state(liquidity, (0,) * n)
    held = [0] * n
    pool = liquidity
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, n - 1))
        selling = held[i] > 0 and draw(st.booleans())
        amount = draw(st.integers(1, 20 * liquidity))
        try:
            if selling:
                result = sell(state, i, Decimal(held[i] // 2 or held[i]).scaleb(-6), held=Decimal(held[i]).scaleb(-6))
            else:
                result = buy(state, i, amount)
        except ValidationError:
            continue  # a sale too small to return a point
        held[i] += -int(result.shares.scaleb(6)) if selling else int(result.shares.scaleb(6))
        pool += -result.points if selling else result.points
        state = result.state
    return state, tuple(held), pool


@PROPS
@given(_traded(), st.integers(1, 10**7), st.data())
def test_any_subsidy_keeps_prices_and_the_pool_covers_every_later_trade(
    traded: tuple[MarketState, tuple[int, ...], int], amount: int, data: st.DataObject
) -> None:
    state, held, pool = traded
    x = _micro(state)
    try:
        liquidity, deeper = subsidize(state.liquidity, x, held, pool, amount)
    except ValidationError:
        return  # too little to buy a whole point of liquidity (without moving prices) on this market
    pool += amount
    deep = _state(liquidity, deeper)
    b = Decimal(liquidity) / Decimal(len(x)).ln()
    assert _moved(state, deep) <= Decimal("1e-9")  # whatever the size of the market
    if b >= 251:  # a rounded state moves a price by at most (e^(1e-6/b) - 1)/4 < 1e-9: the most is bought
        assert liquidity - state.liquidity >= int(state.liquidity * amount / (cost(state) - min(state.shares))) - 2
    assert required_pool(liquidity, deeper, held) - pool <= Decimal("1e-30")  # as a buy is checked
    shift = [d - q for d, q in zip(deeper, held, strict=True)]
    assert min(shift) == 0
    # Whatever is traded afterwards, the deepened market can always pay its winners.
    q = list(held)
    for _ in range(data.draw(st.integers(1, 5))):
        i = data.draw(st.integers(0, len(q) - 1))
        result = buy(deep, i, data.draw(st.integers(1, 50 * liquidity)))
        q[i] += int(result.shares.scaleb(6))
        pool += result.points
        deep = result.state
        assert [int(v.scaleb(6)) - s for v, s in zip(deep.shares, shift, strict=True)] == q
        assert pool * 10**6 >= max(q)
        for outcome in range(len(q)):
            assert sum(resolution_payouts({0: q}, outcome).values()) <= pool
