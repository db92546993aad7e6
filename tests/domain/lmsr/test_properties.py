"""Properties of the market maker over random markets and random trade sequences.

Markets: N in 2..10, L in 1..10**7. Trades: buys of 1..10**9 points and sales of random fractions of
what a trader holds, by three traders, which drives markets into very lopsided states (prices within
1e-1000 of 0 or 1). After every step: prices sum to 1, the pool covers the largest possible payout
and the cost function, and prices move the right way; at the end every settlement (on the holdings as
stored, in whole micro-shares) fits the pool.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.errors import ValidationError
from app.domain.limits import SHARE_PLACES
from app.domain.lmsr import (
    MarketState,
    buy,
    cancellation_refunds,
    cost,
    new_market,
    points_for_shares,
    prices,
    quote_buy,
    resolution_payouts,
    scale_to_fit,
    sell,
    weighted_payouts,
)

WIDE = decimal.Context(prec=80, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
TRADERS = 3
PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

liquidities = st.one_of(st.integers(1, 20), st.integers(1, 10**7), st.sampled_from([1, 1000, 10**7]))
amounts = st.one_of(st.integers(1, 200), st.integers(1, 10**9), st.sampled_from([1, 10**9]))
# (is a buy, outcome (mod N), points, trader, fraction of the holding to sell in millionths)
steps = st.tuples(
    st.integers(0, 3).map(lambda k: k > 0),
    st.integers(0, 9),
    amounts,
    st.integers(0, TRADERS - 1),
    st.integers(1, 10**6),
)
markets = st.tuples(st.integers(2, 10), liquidities, st.lists(steps, min_size=1, max_size=12))


@dataclass
class Book:
    state: MarketState
    pool: int
    holdings: list[list[Decimal]]
    flows: list[list[int]]  # [paid_in, taken_out] per trader
    log: list[Any] = field(default_factory=list)


def wsum(values: Any) -> Decimal:
    with decimal.localcontext(WIDE):
        return sum(values, Decimal(0))


def micro(shares: list[Decimal]) -> list[int]:
    """A holding as the whole micro-shares it is stored as (exactly: shares have 6 decimals)."""
    out = [int(WIDE.scaleb(s, SHARE_PLACES)) for s in shares]
    assert [WIDE.scaleb(Decimal(m), -SHARE_PLACES) for m in out] == shares
    return out


def check_state(book: Book) -> None:
    state = book.state
    ps = prices(state)
    assert abs(wsum(ps) - 1) < Decimal("1e-40")
    assert all(0 <= p <= 1 for p in ps)
    # Solvency: the pool covers the largest payout, and indeed the cost function (>= max q).
    assert book.pool >= max(state.shares)
    assert book.pool >= cost(state) - Decimal("1e-30")
    for i, q in enumerate(state.shares):
        assert wsum(h[i] for h in book.holdings) == q


def check_buy(before: MarketState, result: Any, outcome: int, points: int) -> None:
    assert result.shares >= points > 0  # no price exceeds 1
    old, new = prices(before), prices(result.state)
    assert result.price_before == old[outcome] and result.price_after == new[outcome]
    others_old = wsum(p for j, p in enumerate(old) if j != outcome)
    others_new = wsum(p for j, p in enumerate(new) if j != outcome)
    # The bought outcome's price rises strictly. Within 1e-40 of 1, 50 significant digits can't show
    # the rise itself, but its complement (the others' total) always shows the fall.
    assert others_new < others_old
    if old[outcome] < 1 - Decimal("1e-40"):
        assert new[outcome] > old[outcome]
    else:
        assert new[outcome] >= old[outcome]
    for j in range(before.n):
        if j != outcome:
            assert new[j] < old[j]


def run(n: int, liquidity: int, plan: list[tuple[bool, int, int, int, int]]) -> Book:
    with decimal.localcontext(WIDE):  # the harness's own arithmetic (the market maker ignores it)
        return _run(n, liquidity, plan)


def _run(n: int, liquidity: int, plan: list[tuple[bool, int, int, int, int]]) -> Book:
    book = Book(
        new_market(n, liquidity),
        liquidity,
        [[Decimal(0)] * n for _ in range(TRADERS)],
        [[0, 0] for _ in range(TRADERS)],
    )
    check_state(book)
    for is_buy, raw_outcome, points, trader, millionths in plan:
        outcome = raw_outcome % n
        held = book.holdings[trader][outcome]
        before = book.state
        if is_buy or not held:
            try:
                result = buy(before, outcome, points)
            except ValidationError as exc:  # only the size ceiling can refuse a buy
                assert "larger than this market supports" in exc.message
                book.log.append(("refused", exc.message))
                continue
            check_buy(before, result, outcome, points)
            book.pool += points
            book.holdings[trader][outcome] += result.shares
            book.flows[trader][0] += points
        else:
            shares = max(
                (held * millionths / 10**6).quantize(Decimal("0.000001"), decimal.ROUND_FLOOR), Decimal("0.000001")
            )
            value = points_for_shares(before, outcome, shares)
            try:
                result = sell(before, outcome, shares, held=held)
            except ValidationError as exc:
                assert value == 0 and "too small" in exc.message
                book.log.append(("too small", str(shares)))
                continue
            assert result.points == value <= shares  # no price exceeds 1
            assert result.price_after <= result.price_before
            assert result.price_after == prices(result.state)[outcome]
            book.pool -= result.points
            book.holdings[trader][outcome] -= shares
            book.flows[trader][1] += result.points
        book.state = result.state
        book.log.append(result)
        check_state(book)
    return book


@PROPS
@given(markets, st.randoms(use_true_random=False))
def test_trading_keeps_the_market_solvent_and_settlements_fit(market: Any, rnd: Any) -> None:
    n, liquidity, plan = market
    book = run(n, liquidity, plan)
    holdings = {k: micro(h) for k, h in enumerate(book.holdings)}  # settled as stored: whole micro-shares
    for outcome in range(n):
        assert sum(resolution_payouts(holdings, outcome).values()) <= book.pool
    cuts = sorted(rnd.randint(0, 100) for _ in range(n - 1))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    assert sum(weighted_payouts(holdings, weights).values()) <= book.pool
    # Cancellation refunds net stakes floored at 0. Exactly, their total is pool - L + (profits
    # taken by sellers): it fits the pool whenever those profits are at most L (the settlement
    # service scales refunds pro rata otherwise; see test_settlement for a market where they aren't).
    refunds = cancellation_refunds({k: (paid, taken) for k, (paid, taken) in enumerate(book.flows)})
    profits = sum(max(0, taken - paid) for paid, taken in book.flows)
    assert sum(refunds.values()) == book.pool - liquidity + profits
    if profits <= liquidity:
        assert sum(refunds.values()) <= book.pool
    assert sum(scale_to_fit(refunds, book.pool).values()) <= book.pool  # as the service settles them


@PROPS
@given(markets, st.integers(0, 9), amounts)
def test_buying_then_selling_the_same_shares_never_profits(market: Any, raw: int, points: int) -> None:
    n, liquidity, plan = market
    state = run(n, liquidity, plan).state
    outcome = raw % n
    result = quote_buy(state, outcome, points)
    assert points_for_shares(result.state, outcome, result.shares) <= points


@PROPS
@given(markets, st.integers(0, 9), amounts, amounts)
def test_two_buys_never_beat_one_buy_of_the_sum(market: Any, raw: int, first: int, second: int) -> None:
    n, liquidity, plan = market
    state = run(n, liquidity, plan).state
    outcome = raw % n
    one = buy(state, outcome, first)
    two = buy(one.state, outcome, second)
    assert one.shares + two.shares <= buy(state, outcome, first + second).shares


def replay(n: int, liquidity: int, plan: list[tuple[bool, int, int, int, int]]) -> list[Any]:
    """The same trades as :func:`run` with nothing but the market maker's calls (and explicit-context
    arithmetic), so it can run under any ambient decimal context."""
    state = new_market(n, liquidity)
    holdings = [[Decimal(0)] * n for _ in range(TRADERS)]
    log: list[Any] = []
    for is_buy, raw_outcome, points, trader, millionths in plan:
        outcome = raw_outcome % n
        held = holdings[trader][outcome]
        try:
            if is_buy or not held:
                result = buy(state, outcome, points)
                holdings[trader][outcome] = WIDE.add(held, result.shares)
            else:
                part = WIDE.divide(WIDE.multiply(held, millionths), 10**6)
                shares = WIDE.max(
                    part.quantize(Decimal("0.000001"), decimal.ROUND_FLOOR, context=WIDE), Decimal("0.000001")
                )
                log.append(points_for_shares(state, outcome, shares))
                result = sell(state, outcome, shares, held=held)
                holdings[trader][outcome] = WIDE.subtract(held, shares)
        except ValidationError as exc:
            log.append(exc.message)
            continue
        state = result.state
        log.append(result)
    log += [prices(state), cost(state), MarketState(state.liquidity, state.shares) == state]
    return log


HOSTILE = decimal.Context(
    prec=5,
    rounding=decimal.ROUND_UP,
    Emax=50,
    Emin=-50,
    traps=[decimal.Inexact, decimal.Rounded, decimal.Underflow, decimal.Overflow, decimal.Clamped],
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets)
def test_results_are_bit_identical_across_runs_and_contexts(market: Any) -> None:
    n, liquidity, plan = market
    first = replay(n, liquidity, plan)
    assert repr(replay(n, liquidity, plan)) == repr(first)
    with decimal.localcontext(HOSTILE):
        hostile = replay(n, liquidity, plan)
    assert repr(hostile) == repr(first)
    trades = [entry for entry in run(n, liquidity, plan).log if not isinstance(entry, tuple)]
    assert repr(trades) == repr([entry for entry in first[:-3] if not isinstance(entry, (int, str))])
