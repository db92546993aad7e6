"""The market maker: Hanson's logarithmic market scoring rule (LMSR), in Decimal.

A pure module: no I/O and no imports beyond the standard library and :mod:`app.errors`.

The rules
---------
A market has ``N`` outcomes (2..10) and a liquidity ``L`` in whole points; ``b = L / ln N``. Its state
is ``q``, the shares of each outcome held by traders (all 0 at the start). The cost function is
``C(q) = b ln sum_j exp(q_j / b)`` and the price of outcome ``i`` is ``p_i = exp(q_i / b) / sum_j
exp(q_j / b)``. Buying ``X`` points of outcome ``i`` gives ``b ln(1 + (exp(X/b) - 1) / p_i)`` shares,
rounded *down* to 6 decimals; selling ``s`` shares returns ``-b ln(1 - p_i (1 - exp(-s/b)))`` points,
rounded *down* to a whole point. Both are the exact LMSR cost difference ``C(q') - C(q)``.

Numerics
--------
* Everything is :class:`~decimal.Decimal` in a fixed private context (50 significant digits, a huge
  exponent range; 80 digits where an argument is reduced), always entered explicitly, so results
  never depend on the caller's context and are bit-identical from run to run. No floats anywhere.
* Log-sum-exp: weights are taken against a shift at or above the largest ``q`` (``m`` rounded up to
  a multiple of 1000 L), so every exponential has a non-positive argument and nothing can overflow,
  whatever the state; and the shift rarely moves, so a trade recomputes one weight, not N.
* "Grid + small": every trade amount is computed as ``G + eps`` where ``G`` is an exact multiple of
  the rounding unit (points and shares already on the 6-decimal grid) and ``eps`` is a small term
  computed to full *relative* precision (``log1p``/``expm1`` forms, sums of the non-leading
  outcomes' weights taken directly). So when a market is lopsided and the exact answer is, say,
  ``100.000000`` plus 1e-900, it still floors to ``100.000000``.
* Rounding favours the house. ``eps`` is reduced by a bound on its computational error (~1e-40
  relative, against errors of ~1e-48) before flooring, so the rounded trade never moves the cost by
  more than the trader paid nor pays out more than the cost drop. Hence
  ``pool = L + stakes - proceeds >= C(q) > max_i q_i`` after every trade: the market can always pay
  the winning side. (Buying ``X`` points always yields at least ``X`` shares, and ``X`` shares never
  cost more than ``X``; that bound is applied exactly.) A buy is also re-checked
  (``C(q') - C(q) <= X``) and refused if the check fails, so solvency is never broken silently.
  The price of that margin: when the exact amount sits within ~1e-40 (relative) above a rounding
  boundary, e.g. an exact tie, the trader gets one unit less (a millionth of a share, or a point).
* ``exp`` and ``ln`` are table-driven (tables from libmpdec's correctly rounded functions): libmpdec's
  own cost ~40/85 us at 50 digits, these ~10 us, and agree to ~1e-49.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import TypeVar

from app.errors import InsufficientBalance, MarketNotOpen, ValidationError

__all__ = [
    "MAX_LIQUIDITY",
    "MAX_OUTCOMES",
    "MAX_SHARES",
    "MAX_TRADE_POINTS",
    "MIN_OUTCOMES",
    "SHARE_QUANTUM",
    "MarketState",
    "TradeResult",
    "buy",
    "cancellation_refunds",
    "cost",
    "new_market",
    "points_for_shares",
    "prices",
    "quote_buy",
    "quote_sell",
    "resolution_payouts",
    "sell",
    "weighted_payouts",
]

K = TypeVar("K", bound=Hashable)

SHARE_QUANTUM = Decimal("0.000001")
MIN_OUTCOMES, MAX_OUTCOMES = 2, 10

#: Hard ceilings that keep every number well inside the working precision. They are far beyond
#: anything a play-money server needs; a configured ``max_points`` is normally much lower.
MAX_LIQUIDITY = 10**12
MAX_TRADE_POINTS = 10**12
MAX_SHARES = Decimal(10**15)  # per outcome, outstanding or held

_PREC = 50
_CTX = Context(
    prec=_PREC,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
#: 80 digits: arguments of exp (``(m - q_j)/b``, ``X/b``, ``s/b``) and table construction.
_HI = Context(prec=80, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])
_TABLE = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TWO = Decimal(2)
_HALF = Decimal("0.5")
_MICRO = 10**6
_BAND = 1000  # the band width, in multiples of L
#: Relative bound applied to every computed term before flooring (actual errors are ~1e-48).
_REL_TOL = Decimal("1e-40")
#: Tolerance of the buy solvency re-check (a sanity check on top of the rounding argument).
_CHECK_TOL = Decimal("1e-30")


def _powers(base: Decimal, count: int) -> tuple[Decimal, ...]:
    """base**0 .. base**(count-1), multiplied out at 80 digits (error < 1e-77), kept to 50."""
    out, acc = [], _ONE
    for _ in range(count):
        out.append(_CTX.plus(acc))
        acc = _HI.multiply(acc, base)
    return tuple(out)


def _inverse_factorials(count: int) -> tuple[Decimal, ...]:
    out, fact = [], 1
    for k in range(count):
        fact *= max(k, 1)
        out.append(_CTX.divide(_ONE, Decimal(fact)))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# exp(-w), w >= 0, to ~1e-49 relative
#
# w = n ln10 + j/32 + k/2048 + l/131072 + r with 0 <= r < 1/131072, so exp(-w) is
# 10**-n * exp(-j/32) * exp(-k/2048) * exp(-l/131072) * exp(-r), the last from 9 Taylor terms.
# ----------------------------------------------------------------------------------------------

# Constants are built under the 80-digit context so the caller's context at import can't touch them.
with localcontext(_HI):
    _LN10 = _HI.ln(Decimal(10))
    _LN10_50 = _CTX.plus(_LN10)
    _E1_COUNT, _E1_STEP = 74, Decimal("0.03125")  # j/32, j in 0..73, covers [0, ln 10)
    _E2_COUNT, _E2_STEP = 64, Decimal("0.00048828125")  # k/2048, k in 0..63, covers [0, 1/32)
    _E3_COUNT, _E3_STEP = 64, Decimal("0.00000762939453125")  # l/131072, covers [0, 1/2048)
    _E1_OFF = tuple(_E1_STEP * j for j in range(_E1_COUNT))
    _E2_OFF = tuple(_E2_STEP * k for k in range(_E2_COUNT))
    _E3_OFF = tuple(_E3_STEP * k for k in range(_E3_COUNT))
    _E1 = _powers(_HI.exp(-_E1_STEP), _E1_COUNT)
    _E2 = _powers(_HI.exp(-_E2_STEP), _E2_COUNT)
    _E3 = _powers(_HI.exp(-_E3_STEP), _E3_COUNT)
    _INV_FACT = _inverse_factorials(30)
    _LN_N = {n: _HI.ln(Decimal(n)) for n in range(MIN_OUTCOMES, MAX_OUTCOMES + 1)}  # 80 digits

_TAYLOR_HIGH, _TAYLOR_REST = _INV_FACT[8], tuple(reversed(_INV_FACT[:8]))  # 1/0! .. 1/8!
_EXP_ZERO_BEYOND = Decimal(10**17)  # exp(-w) for larger w would leave the exponent range
_EXPM1_SERIES_BELOW = Decimal("0.001")


def _exp_neg(w: Decimal) -> Decimal:
    """``exp(-w)`` for ``w >= 0`` (up to 80 digits). Call inside ``localcontext(_CTX)``."""
    if not w:
        return _ONE
    n = 0
    if w >= _LN10_50:
        if w > _EXP_ZERO_BEYOND:
            return _ZERO
        n = int(w / _LN10_50)
        w = _HI.fma(-n, _LN10, w)  # w - n ln10, one rounding at 80 digits
        if w < 0:
            n -= 1
            w += _LN10
        elif w >= _LN10:
            n += 1
            w -= _LN10
    j = int(w * 32)
    if j >= _E1_COUNT:
        j = _E1_COUNT - 1
    w -= _E1_OFF[j]
    k = int(w * 2048)
    if k >= _E2_COUNT:
        k = _E2_COUNT - 1
    w -= _E2_OFF[k]
    m = int(w * 131072)
    if m >= _E3_COUNT:
        m = _E3_COUNT - 1
    t = _E3_OFF[m] - w  # -r, |t| < 1/131072 (a rounding below 0 only makes the series longer)
    c1, c2, c3, c4, c5, c6, c7, c8 = _TAYLOR_REST
    acc = ((((((((_TAYLOR_HIGH * t + c1) * t + c2) * t + c3) * t + c4) * t + c5) * t + c6) * t + c7) * t) + c8
    out = _E1[j] * _E2[k] * _E3[m] * acc
    return out.scaleb(-n) if n else out


def _expm1_neg(x: Decimal) -> Decimal:
    """``1 - exp(-x)`` for ``x >= 0`` to full relative precision, however small ``x`` is."""
    if x >= _EXPM1_SERIES_BELOW:
        return 1 - _exp_neg(x)  # >= 1e-3, so at most 3 digits cancel
    if not x:
        return _ZERO
    # x * sum_{k >= 0} (-x)^k / (k+1)!, to ~1e-52 relative
    terms = min(50 // -x.adjusted() + 2, len(_INV_FACT) - 1)
    t = -x
    acc = _INV_FACT[terms]
    for k in range(terms - 1, 0, -1):
        acc = acc * t + _INV_FACT[k]
    return x * acc


# ----------------------------------------------------------------------------------------------
# ln(a), a > 0, to ~1e-49 absolute for a in [1e-1, 1e1] (and ~1e-50 * |ln a| beyond), and log1p
#
# a = 10**k * 2**p * (1 + j/16) * (1 + l/1024) * t with 1 <= t < 1 + 1/1024, and
# ln t = 2 atanh((t - 1)/(t + 1)) from 9 series terms.
# ----------------------------------------------------------------------------------------------

with localcontext(_HI):
    _LN2 = _CTX.plus(_HI.ln(_TWO))
    _HALVES = (_ONE, Decimal("0.5"), Decimal("0.25"), Decimal("0.125"))
    _LA_COUNT, _LB_COUNT = 16, 64
    # Reciprocals of 1 + j/16 and 1 + k/1024 (rounded to 50 digits), and minus the logs of those
    # rounded values: multiplying by them is cheaper than dividing, and the identity stays exact.
    _LA_MUL = tuple(_CTX.divide(_ONE, 1 + Decimal("0.0625") * j) for j in range(_LA_COUNT))
    _LB_MUL = tuple(_CTX.divide(_ONE, 1 + Decimal("0.0009765625") * k) for k in range(_LB_COUNT))
    _LA_LN = tuple(_CTX.plus(-_TABLE.ln(r)) for r in _LA_MUL)
    _LB_LN = tuple(_CTX.plus(-_TABLE.ln(r)) for r in _LB_MUL)
    _ATANH = tuple(_CTX.divide(_TWO, Decimal(2 * i + 1)) for i in range(9))  # 2/(2i+1)
    _ATANH_HIGH, _ATANH_REST = _ATANH[-1], tuple(reversed(_ATANH[:-1]))
    _LOG1P_SERIES_BELOW = Decimal("0.0009")


def _atanh2(u: Decimal) -> Decimal:
    """``2 atanh(u) = ln((1+u)/(1-u))`` for ``|u| < 1/2048``."""
    v = u * u
    c1, c2, c3, c4, c5, c6, c7, c8 = _ATANH_REST
    return u * (((((((((_ATANH_HIGH * v + c1) * v + c2) * v + c3) * v + c4) * v + c5) * v + c6) * v + c7) * v) + c8)


def _ln(a: Decimal) -> Decimal:
    """``ln a`` for a finite ``a > 0``. Call inside ``localcontext(_CTX)``."""
    k = a.adjusted()
    mant = a.scaleb(-k)  # [1, 10)
    p = 0 if mant < 2 else 1 if mant < 4 else 2 if mant < 8 else 3
    if p:
        mant = mant * _HALVES[p]  # [1, 2)
    j = int((mant - 1) * 16)
    if j >= _LA_COUNT:
        j = _LA_COUNT - 1
    t = mant * _LA_MUL[j]  # about [1, 1 + 1/16)
    m = int((t - 1) * 1024)
    if m >= _LB_COUNT:
        m = _LB_COUNT - 1
    elif m < 0:
        m = 0
    t = t * _LB_MUL[m]  # about [1, 1 + 1/1024): any rounding past the ends only lengthens the series
    return k * _LN10 + p * _LN2 + _LA_LN[j] + _LB_LN[m] + _atanh2((t - 1) / (t + 1))


def _log1p(d: Decimal) -> Decimal:
    """``ln(1 + d)`` for ``d > -1`` to full relative precision, however small ``d`` is."""
    if -_LOG1P_SERIES_BELOW < d < _LOG1P_SERIES_BELOW:
        return _atanh2(d / (2 + d)) if d else _ZERO
    return _ln(1 + d)  # |ln(1+d)| >= ~9e-4, so the rounding of 1 + d costs < 1e-46 relative


# ----------------------------------------------------------------------------------------------
# State
# ----------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_shares(value: object, what: str) -> Decimal:
    """A finite Decimal (or int) >= 0 with at most 6 decimals, normalised to exactly 6."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValidationError(f"{what} must be an exact number of shares.")
    d = value if type(value) is Decimal else Decimal(value)
    if not d.is_finite():
        raise ValidationError(f"{what} must be a finite number of shares.")
    if d < 0:
        raise ValidationError(f"{what} can't be negative.")
    if d > MAX_SHARES:
        raise ValidationError(f"{what} is larger than this market supports.")
    q = _CTX.quantize(d, SHARE_QUANTUM)
    if q != d:
        raise ValidationError(f"{what} can have at most 6 decimal places.")
    return q.copy_abs()  # -0 -> 0


@dataclass(frozen=True, slots=True)
class _Analysis:
    """The state in shifted (log-sum-exp) form.

    Weights are taken against a *band* ``h``: the largest ``q`` rounded up to a multiple of 1000 L.
    Every weight is then in (0, 1] (the leader's above N**-1000, which Decimal holds easily), nothing
    can overflow, and ``h`` only moves when the leader crosses a multiple of 1000 L, so nearly every
    trade changes a single weight and the new state's analysis costs one exp, not N.
    """

    b: Decimal  # L / ln N, 50 digits
    ib: Decimal  # 1/b = ln N / L to 80 digits, for exp arguments
    h: Decimal  # the band: max q rounded up to a multiple of 1000 L (exact)
    m: Decimal  # max_j q_j (exact)
    lead: int  # the first outcome with q = m
    w: tuple[Decimal, ...]  # exp((q_j - h)/b); leaders share the largest weight, wl
    wl: Decimal  # w[lead]
    t: Decimal  # sum_{j != lead} exp((q_j - m)/b), taken directly so it keeps full relative precision

    def price(self, j: int) -> Decimal:
        """e_j / (1 + t), with e_j = w_j / wl: a leader's price is exactly 1/(1 + t), so it moves
        monotonically with t even within 1e-50 of 1. Call inside ``localcontext(_CTX)``."""
        wj = self.w[j]
        return (_ONE if wj == self.wl else wj / self.wl) / (1 + self.t)

    def sum_except(self, *skip: int) -> Decimal:
        total = _ZERO
        for j, wj in enumerate(self.w):
            if j not in skip:
                total += wj
        return total


@dataclass(frozen=True)
class MarketState:
    """An LMSR market: liquidity in points and the outstanding shares of each outcome."""

    liquidity: int
    shares: tuple[Decimal, ...]
    is_open: bool = True

    def __post_init__(self) -> None:
        if not _is_int(self.liquidity) or not 1 <= self.liquidity <= MAX_LIQUIDITY:
            raise ValidationError(f"Liquidity must be a whole number of points from 1 to {MAX_LIQUIDITY:,}.")
        if isinstance(self.shares, (str, bytes)) or not isinstance(self.shares, Sequence):
            raise ValidationError("Outstanding shares must be listed per outcome.")
        if not MIN_OUTCOMES <= len(self.shares) <= MAX_OUTCOMES:
            raise ValidationError(f"A market needs between {MIN_OUTCOMES} and {MAX_OUTCOMES} outcomes.")
        shares = tuple(_as_shares(q, "Outstanding shares") for q in self.shares)
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "is_open", bool(self.is_open))

    @property
    def n(self) -> int:
        return len(self.shares)

    @property
    def b(self) -> Decimal:
        return _CTX.divide(Decimal(self.liquidity), _LN_N[self.n])

    @property
    def _analysis(self) -> _Analysis:
        # Cached per state object; it is a pure function of the fields, so the cache can't change
        # any result (a state rebuilt from the database gives the same bits).
        cached = self.__dict__.get("_lmsr_analysis")
        if cached is None:
            cached = _analyse(self.liquidity, self.shares)
            object.__setattr__(self, "_lmsr_analysis", cached)
        return cached


def _band(m: Decimal, liquidity: int) -> Decimal:
    """``m`` (>= 0, 6 dp) rounded up to a multiple of ``_BAND * liquidity``, exactly."""
    unit = _BAND * liquidity * _MICRO
    return _CTX.scaleb(Decimal(-(-int(_CTX.scaleb(m, 6)) // unit) * unit), -6)


def _weight(h: Decimal, q: Decimal, ib: Decimal) -> Decimal:
    """exp((q - h)/b) for q <= h. Call inside ``localcontext(_CTX)``."""
    return _exp_neg(_HI.multiply(h - q, ib))


def _analyse(liquidity: int, shares: tuple[Decimal, ...]) -> _Analysis:
    with localcontext(_CTX):
        ib = _HI.divide(_LN_N[len(shares)], liquidity)
        h = _band(max(shares), liquidity)
        return _assemble(liquidity, ib, h, shares, tuple(_weight(h, q, ib) for q in shares))


def _assemble(
    liquidity: int, ib: Decimal, h: Decimal, shares: tuple[Decimal, ...], w: tuple[Decimal, ...]
) -> _Analysis:
    """The analysis from its weights. Call inside ``localcontext(_CTX)``."""
    m = max(shares)
    lead = shares.index(m)
    wl = w[lead]
    rest = _ZERO
    for j, wj in enumerate(w):
        if j != lead:
            rest += wj
    b = _CTX.divide(liquidity, _LN_N[len(shares)])
    return _Analysis(b=b, ib=ib, h=h, m=m, lead=lead, w=w, wl=wl, t=rest / wl)


def _with_shares(state: MarketState, a: _Analysis, i: int, q: Decimal) -> tuple[MarketState, _Analysis]:
    """``state`` with ``shares[i] = q`` (no re-validation) and its analysis, cached on it.

    When the band doesn't move, every other weight is unchanged and the new one is computed exactly
    as :func:`_analyse` would, so this costs one exp and is bit-identical to a fresh analysis.
    Otherwise it is a fresh analysis. Either way ``prices(new_state)`` is then free and equal, to the
    bit, to what the same state loaded from storage gives. Call inside ``localcontext(_CTX)``.
    """
    shares = (*state.shares[:i], q, *state.shares[i + 1 :])
    new = object.__new__(MarketState)
    object.__setattr__(new, "liquidity", state.liquidity)
    object.__setattr__(new, "shares", shares)
    object.__setattr__(new, "is_open", state.is_open)
    if _band(max(shares), state.liquidity) == a.h:
        w = (*a.w[:i], _weight(a.h, q, a.ib), *a.w[i + 1 :])
        a2 = _assemble(state.liquidity, a.ib, a.h, shares, w)
    else:
        a2 = _analyse(state.liquidity, shares)
    object.__setattr__(new, "_lmsr_analysis", a2)
    return new, a2


def new_market(n_outcomes: int, liquidity: int) -> MarketState:
    """A fresh, open market with no shares outstanding."""
    if not _is_int(n_outcomes) or not MIN_OUTCOMES <= n_outcomes <= MAX_OUTCOMES:
        raise ValidationError(f"A market needs between {MIN_OUTCOMES} and {MAX_OUTCOMES} outcomes.")
    return MarketState(liquidity=liquidity, shares=(_CTX.quantize(_ZERO, SHARE_QUANTUM),) * n_outcomes)


def cost(state: MarketState) -> Decimal:
    """``C(q) = b ln sum_j exp(q_j / b)``, computed as ``max q + b log1p(sum of the others' weights)``."""
    a = state._analysis
    with localcontext(_CTX):
        return a.m + a.b * _log1p(a.t)


def prices(state: MarketState) -> tuple[Decimal, ...]:
    """Each outcome's price (probability), to 50 digits; they sum to 1 within ~1e-48."""
    a = state._analysis
    with localcontext(_CTX):
        return tuple(a.price(j) for j in range(len(a.w)))


# ----------------------------------------------------------------------------------------------
# Trading
#
# Notation: e_j = exp((q_j - m)/b) = w_j / wl (1 for a leader), t = sum_{j != lead} e_j, so
# C(q) = m + b log1p(t). Every amount is computed as an exact grid part plus a small part.
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeResult:
    outcome: int
    points: int  # paid (buy) or received (sell), whole points
    shares: Decimal  # bought or sold, 6 dp
    price_before: Decimal
    price_after: Decimal  # == prices(state)[outcome], to the bit
    state: MarketState  # the market after the trade


def _require_open(state: MarketState) -> None:
    if not state.is_open:
        raise MarketNotOpen("This market is closed to trading.")


def _check_outcome(state: MarketState, outcome: int) -> int:
    if not _is_int(outcome) or not 0 <= outcome < state.n:
        raise ValidationError("That outcome doesn't exist in this market.")
    return outcome


def _check_points(points: object, max_points: int | None) -> int:
    if max_points is not None and (not _is_int(max_points) or max_points < 1):
        raise ValueError("max_points must be a positive int or None")
    if isinstance(points, Decimal) and points.is_finite() and points == _CTX.to_integral_value(points):
        points = int(points)
    if not isinstance(points, int) or isinstance(points, bool):
        raise ValidationError("The amount must be a whole number of points.")
    if points < 1:
        raise ValidationError("The minimum trade is 1 point.")
    cap = MAX_TRADE_POINTS if max_points is None else min(max_points, MAX_TRADE_POINTS)
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
    return _as_shares(d, "The number of shares to sell")


def _fmt(d: Decimal) -> str:
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _floor_points(g: Decimal, eps: Decimal) -> int:
    """floor(g + eps) for ``g`` on the share grid (exact) and a computed ``eps``."""
    g_int = g.to_integral_value(rounding=ROUND_FLOOR)
    frac = (g - g_int) + eps  # (g - g_int) is exact, in [0, 1)
    return int(g_int) + int(frac.to_integral_value(rounding=ROUND_FLOOR))


def quote_buy(state: MarketState, outcome: int, points: int, *, max_points: int | None = None) -> TradeResult:
    """What ``points`` buys of ``outcome``: shares (floored to 6 dp), prices, and the new state."""
    _require_open(state)
    i = _check_outcome(state, outcome)
    x_points = _check_points(points, max_points)
    a = state._analysis
    with localcontext(_CTX):
        b = a.b
        e_i = a.w[i] / a.wl
        s_o = a.sum_except(i) / a.wl  # (1 - p_i) / p_lead
        x = _HI.multiply(x_points, a.ib)
        ex = _exp_neg(x)
        # Delta = b ln(1 + (e^x - 1)/p_i) = X + (m - q_i) + b ln(e_i + s_o (1 - e^-x)), and
        # e_i + s_o (1 - e^-x) = 1 + d with d = t - s_o e^-x. The first two terms are on the grid.
        grid = x_points + (a.m - state.shares[i])
        sub = s_o * ex
        d = a.t - sub
        if -_HALF < d < _HALF:
            eps = b * _log1p(d)
            tol = _REL_TOL * (b * (a.t + sub) + abs(eps))
        else:
            eps = b * _ln(e_i + s_o * _expm1_neg(x))
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
        new_state, a2 = _with_shares(state, a, i, q_new)
        # Solvency re-check, C(q') - C(q) <= X, also as grid + small.
        if a2.m == a.m:  # i isn't the sole leader afterwards: C(q') - C(q) = b log1p((e'_i - e_i)/(1 + t))
            excess = b * _log1p((a2.w[i] / a2.wl - e_i) / (1 + a.t)) - x_points
        else:  # i is the new sole leader
            excess = (a2.m - a.m - x_points) + b * (_log1p(a2.t) - _log1p(a.t))
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


def _sale(state: MarketState, i: int, s: Decimal, *, trade: bool) -> tuple[int, TradeResult | None]:
    """Points for selling ``s`` (> 0) shares of ``i``, and (if ``trade``) the full result.

    Proceeds are ``C(q) - C(q')`` with ``C = m + b log1p(t)``: the change of ``m`` is on the grid
    and the rest is computed to full relative precision.
    """
    a = state._analysis
    with localcontext(_CTX):
        b = a.b
        y = _HI.multiply(s, a.ib)
        g = _exp_neg(y)  # exp(-s/b)
        q_new = state.shares[i] - s
        m2 = max(q for j, q in enumerate(state.shares) if j != i)
        if state.shares[i] < a.m:  # i isn't a leader, so the max stays at m
            t_new = (a.sum_except(a.lead, i) + a.w[i] * g) / a.wl
            # C(q) - C(q') = b ln((1 + t) / (1 + t')), with t - t' = e_i (1 - e^-y)
            eps = b * _log1p(a.w[i] / a.wl * _expm1_neg(y) / (1 + t_new))
            grid = _ZERO
        elif q_new >= m2:  # i is the sole leader and stays one: the max moves down by s
            t_new = a.t / g  # each e_j grows by e^y, staying <= 1
            eps = -b * _log1p(a.t * _expm1_neg(y) / (g * (1 + a.t)))
            grid = s
        else:  # another outcome takes the lead: the max moves from m to m2
            lead2 = next(j for j, q in enumerate(state.shares) if j != i and q == m2)
            t_new = (a.sum_except(lead2, i) + a.w[i] * g) / a.w[lead2]
            eps = b * (_log1p(a.t) - _log1p(t_new))
            grid = a.m - m2
        tol = _REL_TOL * (abs(eps) + b * (a.t + t_new))
        pts = max(_floor_points(grid, eps - tol), 0)
        if not trade or pts < 1:
            return pts, None
        new_state, a2 = _with_shares(state, a, i, q_new)
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
    h = _as_shares(held, "Your holding")
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
    s = _as_shares(shares, "The number of shares")
    if not s:
        return 0
    return _sale(state, i, s, trade=False)[0]


# ----------------------------------------------------------------------------------------------
# Settlement (integer arithmetic on micro-shares: exact)
# ----------------------------------------------------------------------------------------------


def _holding_rows(holdings: Mapping[K, Sequence[Decimal]], n: int | None) -> dict[K, list[int]]:
    """Each trader's shares as integer micro-shares, validated (same length, >= 0, 6 dp)."""
    rows: dict[K, list[int]] = {}
    for key, row in holdings.items():
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValidationError("Holdings must list the shares of every outcome.")
        if n is None:
            n = len(row)
        if len(row) != n or not MIN_OUTCOMES <= n <= MAX_OUTCOMES:
            raise ValidationError("Holdings must list the shares of every outcome.")
        rows[key] = [int(_CTX.scaleb(_as_shares(v, "A holding"), 6)) for v in row]
    return rows


def resolution_payouts(holdings: Mapping[K, Sequence[Decimal]], outcome: int) -> dict[K, int]:
    """Resolution to ``outcome``: each trader gets floor(their shares of it). Zero payouts omitted."""
    if not _is_int(outcome) or not 0 <= outcome < MAX_OUTCOMES:
        raise ValidationError("That outcome doesn't exist in this market.")
    out: dict[K, int] = {}
    for key, row in _holding_rows(holdings, None).items():
        if outcome >= len(row):
            raise ValidationError("That outcome doesn't exist in this market.")
        pay = row[outcome] // _MICRO
        if pay:
            out[key] = pay
    return out


def weighted_payouts(holdings: Mapping[K, Sequence[Decimal]], weights: Sequence[int]) -> dict[K, int]:
    """Weighted resolution: floor(sum_i shares_i * w_i / 100), ``weights`` whole percentages."""
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise ValidationError("Weights must be whole percentages, one per outcome.")
    w = list(weights)
    if not MIN_OUTCOMES <= len(w) <= MAX_OUTCOMES:
        raise ValidationError("Weights must be whole percentages, one per outcome.")
    if not all(_is_int(v) and v >= 0 for v in w):
        raise ValidationError("Weights must be whole percentages (0 or more), one per outcome.")
    if sum(w) != 100:
        raise ValidationError("Weights must add up to 100%.")
    out: dict[K, int] = {}
    for key, row in _holding_rows(holdings, len(w)).items():
        pay = sum(m * wi for m, wi in zip(row, w, strict=True)) // (100 * _MICRO)
        if pay:
            out[key] = pay
    return out


def cancellation_refunds(flows: Mapping[K, tuple[int, int]]) -> dict[K, int]:
    """Cancellation: each trader gets back ``paid_in - taken_out``, floored at 0. Zeros omitted."""
    out: dict[K, int] = {}
    for key, flow in flows.items():
        if not isinstance(flow, tuple) or len(flow) != 2:
            raise ValidationError("Each trader's flow must be (paid_in, taken_out).")
        paid_in, taken_out = flow
        if not (_is_int(paid_in) and _is_int(taken_out)) or paid_in < 0 or taken_out < 0:
            raise ValidationError("Points paid in and taken out must be whole numbers, 0 or more.")
        refund = paid_in - taken_out
        if refund > 0:
            out[key] = refund
    return out
