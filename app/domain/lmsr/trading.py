"""Trading: quotes for buying with points and selling shares, and the value of a holding.

Notation: e_j = exp((q_j - m)/b) = w_j / wl (1 for a leader), t = sum_{j != lead} e_j, so
C(q) = m + b log1p(t). Every amount is computed as an exact grid part plus a small part, and the small
part is reduced by a bound on its error before flooring, so rounding always favours the house.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from app.domain.errors import InsufficientBalance, MarketNotOpen, ValidationError
from app.domain.limits import MAX_POINTS, MAX_SHARES
from app.domain.lmsr.numerics import CTX, HI, exp_neg, expm1_neg, ln, log1p
from app.domain.lmsr.state import SHARE_QUANTUM, MarketState, analysis, as_shares, is_int, with_shares

__all__ = ["TradeResult", "buy", "points_for_shares", "quote_buy", "quote_sell", "sell"]

_ZERO = Decimal(0)
_HALF = Decimal("0.5")
#: Relative bound applied to every computed term before flooring (actual errors are ~1e-48).
_REL_TOL = Decimal("1e-40")
#: Tolerance of the buy solvency re-check (a sanity check on top of the rounding argument).
_CHECK_TOL = Decimal("1e-30")


@dataclass(frozen=True)
class TradeResult:
    outcome: int
    points: int  # paid (buy) or received (sell), whole points
    shares: Decimal  # bought or sold, 6 dp
    price_before: Decimal
    price_after: Decimal  # == prices(state)[outcome], to the bit
    state: MarketState  # the market after the trade


# ----------------------------------------------------------------------------------------------
# Guards
# ----------------------------------------------------------------------------------------------


def _require_open(state: MarketState) -> None:
    if not state.is_open:
        raise MarketNotOpen("This market is closed to trading.")


def _check_outcome(state: MarketState, outcome: int) -> int:
    if not is_int(outcome) or not 0 <= outcome < state.n:
        raise ValidationError("That outcome doesn't exist in this market.")
    return outcome


def _check_points(points: object, max_points: int | None) -> int:
    if max_points is not None and (not is_int(max_points) or max_points < 1):
        raise ValueError("max_points must be a positive int or None")
    if isinstance(points, Decimal) and points.is_finite() and points == CTX.to_integral_value(points):
        points = int(points)
    if not isinstance(points, int) or isinstance(points, bool):
        raise ValidationError("The amount must be a whole number of points.")
    if points < 1:
        raise ValidationError("The minimum trade is 1 point.")
    cap = MAX_POINTS if max_points is None else min(max_points, MAX_POINTS)
    if points > cap:
        raise ValidationError(f"The maximum trade is {cap:,} points.")
    return points


def _check_sale_shares(shares: object) -> Decimal:
    if isinstance(shares, bool) or not isinstance(shares, (int, Decimal)):
        raise ValidationError("The number of shares to sell must be an exact number.")
    d = Decimal(shares)
    if not d.is_finite():
        raise ValidationError("The number of shares to sell must be a finite number.")
    if d <= 0:
        raise ValidationError("The number of shares to sell must be more than 0.")
    return as_shares(d, "The number of shares to sell")


def _fmt(d: Decimal) -> str:
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _floor_points(g: Decimal, eps: Decimal) -> int:
    """floor(g + eps) for ``g`` on the share grid (exact) and a computed ``eps``."""
    g_int = g.to_integral_value(rounding=ROUND_FLOOR)
    frac = (g - g_int) + eps  # (g - g_int) is exact, in [0, 1)
    return int(g_int) + int(frac.to_integral_value(rounding=ROUND_FLOOR))


# ----------------------------------------------------------------------------------------------
# Buying
# ----------------------------------------------------------------------------------------------


def quote_buy(state: MarketState, outcome: int, points: int, *, max_points: int | None = None) -> TradeResult:
    """What ``points`` buys of ``outcome``: shares (floored to 6 dp), prices, and the new state."""
    _require_open(state)
    i = _check_outcome(state, outcome)
    x_points = _check_points(points, max_points)
    a = analysis(state)
    with localcontext(CTX):
        b = a.b
        e_i = a.w[i] / a.wl
        s_o = a.sum_except(i) / a.wl  # (1 - p_i) / p_lead
        x = HI.multiply(x_points, a.ib)
        ex = exp_neg(x)
        # Delta = b ln(1 + (e^x - 1)/p_i) = X + (m - q_i) + b ln(e_i + s_o (1 - e^-x)), and
        # e_i + s_o (1 - e^-x) = 1 + d with d = t - s_o e^-x. The first two terms are on the grid.
        grid = x_points + (a.m - state.shares[i])
        sub = s_o * ex
        d = a.t - sub
        if -_HALF < d < _HALF:
            eps = b * log1p(d)
            tol = _REL_TOL * (b * (a.t + sub) + abs(eps))
        else:
            eps = b * ln(e_i + s_o * expm1_neg(x))
            tol = _REL_TOL * (b + abs(eps))
        bought = grid + (eps - tol).quantize(SHARE_QUANTUM, rounding=ROUND_FLOOR)
        # Exactly, Delta >= X (no price exceeds 1) and X shares never cost more than X points, so X
        # is always a safe floor.
        if bought < x_points:
            bought = Decimal(x_points).quantize(SHARE_QUANTUM)
        if bought <= 0:
            raise ValidationError("That amount is too small to buy any shares.")
        q_new = state.shares[i] + bought
        if q_new > MAX_SHARES:
            raise ValidationError("That trade is larger than this market supports.")
        new_state, a2 = with_shares(state, a, i, q_new)
        # Solvency re-check, C(q') - C(q) <= X, also as grid + small.
        if a2.m == a.m:  # i isn't the sole leader afterwards: C(q') - C(q) = b log1p((e'_i - e_i)/(1 + t))
            excess = b * log1p((a2.w[i] / a2.wl - e_i) / (1 + a.t)) - x_points
        else:  # i is the new sole leader
            excess = (a2.m - a.m - x_points) + b * (log1p(a2.t) - log1p(a.t))
        # bought == X is solvent by the argument above, however close the numbers are.
        if excess > _CHECK_TOL * (x_points + b) and bought != x_points:
            raise ValidationError("That trade can't be filled safely; try a different amount.")
        return TradeResult(
            outcome=i,
            points=x_points,
            shares=bought,
            price_before=a.price(i),
            price_after=a2.price(i),
            state=new_state,
        )


# ----------------------------------------------------------------------------------------------
# Selling
# ----------------------------------------------------------------------------------------------


def _sale(state: MarketState, i: int, s: Decimal, *, trade: bool) -> tuple[int, TradeResult | None]:
    """Points for selling ``s`` (> 0) shares of ``i``, and (if ``trade``) the full result.

    Proceeds are ``C(q) - C(q')`` with ``C = m + b log1p(t)``: the change of ``m`` is on the grid
    and the rest is computed to full relative precision.
    """
    a = analysis(state)
    with localcontext(CTX):
        b = a.b
        y = HI.multiply(s, a.ib)
        g = exp_neg(y)  # exp(-s/b)
        q_new = state.shares[i] - s
        m2 = max(q for j, q in enumerate(state.shares) if j != i)
        if state.shares[i] < a.m:  # i isn't a leader, so the max stays at m
            t_new = (a.sum_except(a.lead, i) + a.w[i] * g) / a.wl
            # C(q) - C(q') = b ln((1 + t) / (1 + t')), with t - t' = e_i (1 - e^-y)
            eps = b * log1p(a.w[i] / a.wl * expm1_neg(y) / (1 + t_new))
            grid = _ZERO
        elif q_new >= m2:  # i is the sole leader and stays one: the max moves down by s
            t_new = a.t / g  # each e_j grows by e^y, staying <= 1
            eps = -b * log1p(a.t * expm1_neg(y) / (g * (1 + a.t)))
            grid = s
        else:  # another outcome takes the lead: the max moves from m to m2
            lead2 = next(j for j, q in enumerate(state.shares) if j != i and q == m2)
            t_new = (a.sum_except(lead2, i) + a.w[i] * g) / a.w[lead2]
            eps = b * (log1p(a.t) - log1p(t_new))
            grid = a.m - m2
        tol = _REL_TOL * (abs(eps) + b * (a.t + t_new))
        pts = max(_floor_points(grid, eps - tol), 0)
        if not trade or pts < 1:
            return pts, None
        new_state, a2 = with_shares(state, a, i, q_new)
        result = TradeResult(
            outcome=i,
            points=pts,
            shares=s,
            price_before=a.price(i),
            price_after=a2.price(i),
            state=new_state,
        )
        return pts, result


def quote_sell(state: MarketState, outcome: int, shares: Decimal, *, held: Decimal) -> TradeResult:
    """What selling ``shares`` of ``outcome`` returns (floored to whole points), and the new state."""
    _require_open(state)
    i = _check_outcome(state, outcome)
    s = _check_sale_shares(shares)
    h = as_shares(held, "Your holding")
    if s > h:
        raise InsufficientBalance(f"You only hold {_fmt(h)} shares of that outcome.")
    if s > state.shares[i]:
        raise ValidationError("The market doesn't have that many shares of that outcome.")
    _, result = _sale(state, i, s, trade=True)
    if result is None:
        raise ValidationError("That sale is too small to return any points.")
    return result


#: A trade is applying its quote: the result's ``state`` is the market afterwards.
buy = quote_buy
sell = quote_sell


def points_for_shares(state: MarketState, outcome: int, shares: Decimal) -> int:
    """What ``shares`` of ``outcome`` would sell for now (floored), for valuing a portfolio.

    Ignores whether the market is open and how many shares are outstanding; 0 for 0 shares.
    """
    i = _check_outcome(state, outcome)
    s = as_shares(shares, "The number of shares")
    if not s:
        return 0
    return _sale(state, i, s, trade=False)[0]
