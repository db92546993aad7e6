"""A market's state and its log-sum-exp analysis: :class:`MarketState`, :func:`new_market`, :func:`cost`,
:func:`prices`, and the validation of share amounts.

The analysis of a state (its weights against a shift, see :class:`Analysis`) is a pure function of the
state's fields, computed once per state object and cached on it: :func:`analysis` reads the cache,
:func:`with_shares` builds a trade's new state with its analysis already cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from app.domain.errors import ValidationError
from app.domain.limits import MAX_POINTS, MAX_SHARES, OUTCOMES, SHARE_PLACES
from app.domain.lmsr.numerics import CTX, HI, LN_N, exp_neg, log1p

__all__ = [
    "MICRO",
    "SHARE_QUANTUM",
    "Analysis",
    "MarketState",
    "analysis",
    "as_shares",
    "cost",
    "is_int",
    "new_market",
    "prices",
    "with_shares",
]

SHARE_QUANTUM = Decimal(f"1e-{SHARE_PLACES}")
"""The smallest amount of shares, ``0.000001``: shares are counted to :data:`~app.domain.limits.SHARE_PLACES`."""
MICRO = 10**SHARE_PLACES
"""Micro-shares per share: shares are stored, and settled, as whole micro-shares."""

_ZERO = Decimal(0)
_ONE = Decimal(1)
_BAND = 1000  # the band width, in multiples of L
_CACHE = "_lmsr_analysis"  # where a state object keeps its analysis


def is_int(value: object) -> bool:
    """A whole number, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def as_shares(value: object, what: str) -> Decimal:
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
    q = CTX.quantize(d, SHARE_QUANTUM)
    if q != d:
        raise ValidationError(f"{what} can have at most {SHARE_PLACES} decimal places.")
    return q.copy_abs()  # -0 -> 0


@dataclass(frozen=True, slots=True)
class Analysis:
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
        monotonically with t even within 1e-50 of 1. Call inside ``localcontext(CTX)``."""
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
        if not is_int(self.liquidity) or not 1 <= self.liquidity <= MAX_POINTS:
            raise ValidationError(f"Liquidity must be a whole number of points from 1 to {MAX_POINTS:,}.")
        if isinstance(self.shares, (str, bytes)) or not isinstance(self.shares, Sequence):
            raise ValidationError("Outstanding shares must be listed per outcome.")
        if len(self.shares) not in OUTCOMES:
            raise ValidationError(f"A market needs between {OUTCOMES.low} and {OUTCOMES.high} outcomes.")
        shares = tuple(as_shares(q, "Outstanding shares") for q in self.shares)
        object.__setattr__(self, "shares", shares)
        object.__setattr__(self, "is_open", bool(self.is_open))

    @property
    def n(self) -> int:
        return len(self.shares)

    @property
    def b(self) -> Decimal:
        return CTX.divide(Decimal(self.liquidity), LN_N[self.n])


def analysis(state: MarketState) -> Analysis:
    """The analysis of ``state``, cached on the state object.

    It is a pure function of the fields, so the cache can't change any result (a state rebuilt from
    the database gives the same bits).
    """
    cached: Analysis | None = state.__dict__.get(_CACHE)
    if cached is None:
        cached = _analyse(state.liquidity, state.shares)
        object.__setattr__(state, _CACHE, cached)
    return cached


def _band(m: Decimal, liquidity: int) -> Decimal:
    """``m`` (>= 0, 6 dp) rounded up to a multiple of ``_BAND * liquidity``, exactly."""
    unit = _BAND * liquidity * MICRO
    return CTX.scaleb(Decimal(-(-int(CTX.scaleb(m, SHARE_PLACES)) // unit) * unit), -SHARE_PLACES)


def _weight(h: Decimal, q: Decimal, ib: Decimal) -> Decimal:
    """exp((q - h)/b) for q <= h. Call inside ``localcontext(CTX)``."""
    return exp_neg(HI.multiply(h - q, ib))


def _analyse(liquidity: int, shares: tuple[Decimal, ...]) -> Analysis:
    with localcontext(CTX):
        ib = HI.divide(LN_N[len(shares)], liquidity)
        h = _band(max(shares), liquidity)
        return _assemble(liquidity, ib, h, shares, tuple(_weight(h, q, ib) for q in shares))


def _assemble(liquidity: int, ib: Decimal, h: Decimal, shares: tuple[Decimal, ...], w: tuple[Decimal, ...]) -> Analysis:
    """The analysis from its weights. Call inside ``localcontext(CTX)``."""
    m = max(shares)
    lead = shares.index(m)
    wl = w[lead]
    rest = _ZERO
    for j, wj in enumerate(w):
        if j != lead:
            rest += wj
    b = CTX.divide(liquidity, LN_N[len(shares)])
    return Analysis(b=b, ib=ib, h=h, m=m, lead=lead, w=w, wl=wl, t=rest / wl)


def with_shares(state: MarketState, a: Analysis, i: int, q: Decimal) -> tuple[MarketState, Analysis]:
    """``state`` with ``shares[i] = q`` (no re-validation) and its analysis, cached on it.

    When the band doesn't move, every other weight is unchanged and the new one is computed exactly
    as a fresh analysis would, so this costs one exp and is bit-identical to a fresh analysis.
    Otherwise it is a fresh analysis. Either way ``prices(new_state)`` is then free and equal, to the
    bit, to what the same state loaded from storage gives. Call inside ``localcontext(CTX)``.
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
    object.__setattr__(new, _CACHE, a2)
    return new, a2


def new_market(n_outcomes: int, liquidity: int) -> MarketState:
    """A fresh, open market with no shares outstanding."""
    if n_outcomes not in OUTCOMES:
        raise ValidationError(f"A market needs between {OUTCOMES.low} and {OUTCOMES.high} outcomes.")
    return MarketState(liquidity=liquidity, shares=(CTX.quantize(_ZERO, SHARE_QUANTUM),) * n_outcomes)


def cost(state: MarketState) -> Decimal:
    """``C(q) = b ln sum_j exp(q_j / b)``, computed as ``max q + b log1p(sum of the others' weights)``."""
    a = analysis(state)
    with localcontext(CTX):
        return a.m + a.b * log1p(a.t)


def prices(state: MarketState) -> tuple[Decimal, ...]:
    """Each outcome's price (probability), to 50 digits; they sum to 1 within ~1e-48."""
    a = analysis(state)
    with localcontext(CTX):
        return tuple(a.price(j) for j in range(len(a.w)))
