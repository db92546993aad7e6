"""The market maker: worked examples checked against an independent computation (floats from
:mod:`math`, and mpmath at high precision), its guards, settlement, and its purity."""

from __future__ import annotations

import ast
import decimal
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.domain import lmsr
from app.domain.lmsr import (
    MAX_OUTCOMES,
    MIN_OUTCOMES,
    SHARE_QUANTUM,
    MarketState,
    TradeResult,
    buy,
    cancellation_refunds,
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
from app.errors import InsufficientBalance, MarketNotOpen, ValidationError

ROOT = Path(__file__).resolve().parents[2]
LMSR_PATH = ROOT / "app" / "domain" / "lmsr.py"

D = Decimal


# -- an independent reference: the textbook formulas, in mpmath -------------------------------------


def mp() -> Any:
    return pytest.importorskip("mpmath")


def ref_b(liquidity: int, n: int, mpmath: Any) -> Any:
    return mpmath.mpf(liquidity) / mpmath.log(n)


def ref_cost(liquidity: int, q: list[Any], mpmath: Any) -> Any:
    b = ref_b(liquidity, len(q), mpmath)
    return b * mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(x) / b) for x in q))


def ref_price(liquidity: int, q: list[Any], i: int, mpmath: Any) -> Any:
    b = ref_b(liquidity, len(q), mpmath)
    weights = [mpmath.exp(mpmath.mpf(x) / b) for x in q]
    return weights[i] / mpmath.fsum(weights)


def ref_shares(liquidity: int, q: list[Any], i: int, points: int, mpmath: Any) -> Any:
    """Delta = b ln(1 + (exp(X/b) - 1) / p_i), straight from the definition."""
    b = ref_b(liquidity, len(q), mpmath)
    return b * mpmath.log(1 + mpmath.expm1(points / b) / ref_price(liquidity, q, i, mpmath))


def ref_proceeds(liquidity: int, q: list[Any], i: int, s: Any, mpmath: Any) -> Any:
    """R = -b ln(1 - p_i (1 - exp(-s/b))), straight from the definition."""
    b = ref_b(liquidity, len(q), mpmath)
    p = ref_price(liquidity, q, i, mpmath)
    return -b * mpmath.log(1 - p * -mpmath.expm1(-mpmath.mpf(str(s)) / b))


def floor6(x: Any, mpmath: Any) -> Decimal:
    return Decimal(int(mpmath.floor(x * 10**6))).scaleb(-6)


def as_mp(values: tuple[Decimal, ...], mpmath: Any) -> list[Any]:
    return [mpmath.mpf(str(v)) for v in values]


# -- worked examples --------------------------------------------------------------------------------


def test_constants() -> None:
    assert Decimal("0.000001") == SHARE_QUANTUM
    assert (MIN_OUTCOMES, MAX_OUTCOMES) == (2, 10)
    assert lmsr.buy is lmsr.quote_buy and lmsr.sell is lmsr.quote_sell


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


def test_state_normalises_shares_to_six_places() -> None:
    state = MarketState(10, (D("1.5"), 2, D("0E-6")))
    assert state.shares == (D("1.500000"), D("2.000000"), D("0.000000"))
    assert [str(q) for q in state.shares] == ["1.500000", "2.000000", "0.000000"]
    assert state == MarketState(10, (D("1.500000"), D(2), D(0)))


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
        out.append(weighted_payouts({1: [D(1), D(2), D("3.5")]}, [20, 30, 50]))
        out.append(resolution_payouts({1: [D(1), D(2), D("3.5")]}, 2))
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


@pytest.mark.parametrize(("n", "liquidity"), [(1, 100), (11, 100), (0, 100), (2, 0), (2, -5), (2, 10**13)])
def test_new_market_rejects_bad_shapes(n: int, liquidity: int) -> None:
    with pytest.raises(ValidationError):
        new_market(n, liquidity)


@pytest.mark.parametrize("liquidity", [1.5, True, D(100), "100", None])
def test_liquidity_must_be_an_int(liquidity: Any) -> None:
    with pytest.raises(ValidationError):
        MarketState(liquidity, (D(0), D(0)))


@pytest.mark.parametrize(
    "bad",
    [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity"), D("-1"), D("0.0000001"), 1.5, True, "3", D(10**16)],
)
def test_state_rejects_bad_shares(bad: Any) -> None:
    with pytest.raises(ValidationError):
        MarketState(100, (D(0), bad))


def test_state_needs_two_to_ten_outcomes() -> None:
    with pytest.raises(ValidationError, match="between 2 and 10"):
        MarketState(100, (D(0),))
    with pytest.raises(ValidationError):
        MarketState(100, (D(0),) * 11)


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


# -- settlement -------------------------------------------------------------------------------------


def test_resolution_pays_floor_of_the_winning_shares() -> None:
    holdings = {"a": [D("10.999999"), D("3")], "b": [D("0.5"), D("7.25")], "c": [D(0), D(0)]}
    assert resolution_payouts(holdings, 0) == {"a": 10}
    assert resolution_payouts(holdings, 1) == {"a": 3, "b": 7}
    assert resolution_payouts({}, 1) == {}


def test_weighted_resolution() -> None:
    holdings = {"a": [D(10), D(3), D(0)], "b": [D("0.5"), D("7.25"), D("99.999999")], "c": [D(1), D(0), D(0)]}
    # a: 10*.5 + 3*.25 = 5.75 -> 5; b: .25 + 1.8125 + 24.99999975 = 27.06 -> 27; c: 0.5 -> 0 (omitted)
    assert weighted_payouts(holdings, [50, 25, 25]) == {"a": 5, "b": 27}
    assert weighted_payouts(holdings, [100, 0, 0]) == resolution_payouts(holdings, 0)


@pytest.mark.parametrize(
    "weights",
    [[50, 40, 5], [50, 50, 50], [110, -10, 0], [50.0, 25, 25], [True, 99, 0], [100], [50, 25, 25, 0], "abc"],
)
def test_weights_are_validated(weights: Any) -> None:
    with pytest.raises(ValidationError):
        weighted_payouts({"a": [D(1), D(2), D(3)]}, weights)


def test_holdings_are_validated() -> None:
    for bad in ([D("NaN"), D(1)], [D(-1), D(1)], [D("0.0000001"), D(1)], [D(1)], [1.0, D(1)]):
        with pytest.raises(ValidationError):
            resolution_payouts({"a": bad}, 0)
    with pytest.raises(ValidationError):
        resolution_payouts({"a": [D(1), D(2)], "b": [D(1), D(2), D(3)]}, 0)
    with pytest.raises(ValidationError):
        resolution_payouts({"a": [D(1), D(2)]}, 2)
    with pytest.raises(ValidationError):
        resolution_payouts({"a": [D(1), D(2)]}, -1)


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


# -- purity -----------------------------------------------------------------------------------------

FORBIDDEN = (
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "aiosqlite",
    "httpx",
    "nacl",
    "discord_interactions",
    "redis",
    "pydantic",
    "app.services",
    "app.persistence",
    "app.discord",
    "models",
    "handlers",
)


def test_importing_lmsr_pulls_in_nothing_but_the_stdlib_and_errors() -> None:
    code = "import sys, app.domain.lmsr; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    modules = out.stdout.split()
    assert "app.domain.lmsr" in modules
    leaked = [m for m in modules if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
    ours = {m for m in modules if m.split(".")[0] == "app"}
    assert ours <= {"app", "app.domain", "app.domain.lmsr", "app.errors"}


def test_lmsr_imports_only_stdlib_and_app_errors() -> None:
    tree = ast.parse(LMSR_PATH.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module or "")
    assert {"app.errors"} <= imported
    for name in imported - {"app.errors"}:
        assert name.split(".")[0] in sys.stdlib_module_names, name
    assert "float(" not in LMSR_PATH.read_text(encoding="utf-8")
