"""The fixed Decimal contexts and the table-driven kernels: ``exp(-w)``, ``1 - exp(-x)``, ``ln`` and ``log1p``.

Every kernel works in :data:`CTX` (50 significant digits, a huge exponent range) and expects to be called
inside ``localcontext(CTX)``; :data:`HI` (80 digits) reduces arguments. The tables come from libmpdec's
correctly rounded functions, built at import under explicit contexts, so the caller's context can't touch
them: libmpdec's own ``exp``/``ln`` cost ~40/85 us at 50 digits, these ~10 us, and agree to ~1e-49.
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from app.domain.limits import OUTCOMES

__all__ = ["CTX", "HI", "LN_N", "exp_neg", "expm1_neg", "ln", "log1p"]

_PREC = 50
CTX = Context(
    prec=_PREC,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""The working context: 50 digits, entered explicitly by every public function of the package."""
HI = Context(prec=80, rounding=ROUND_HALF_EVEN, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation])
"""80 digits: arguments of exp (``(m - q_j)/b``, ``X/b``, ``s/b``) and table construction."""
_TABLE = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation])

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TWO = Decimal(2)


def _powers(base: Decimal, count: int) -> tuple[Decimal, ...]:
    """base**0 .. base**(count-1), multiplied out at 80 digits (error < 1e-77), kept to 50."""
    out, acc = [], _ONE
    for _ in range(count):
        out.append(CTX.plus(acc))
        acc = HI.multiply(acc, base)
    return tuple(out)


def _inverse_factorials(count: int) -> tuple[Decimal, ...]:
    out, fact = [], 1
    for k in range(count):
        fact *= max(k, 1)
        out.append(CTX.divide(_ONE, Decimal(fact)))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# exp(-w), w >= 0, to ~1e-49 relative
#
# w = n ln10 + j/32 + k/2048 + l/131072 + r with 0 <= r < 1/131072, so exp(-w) is
# 10**-n * exp(-j/32) * exp(-k/2048) * exp(-l/131072) * exp(-r), the last from 9 Taylor terms.
# ----------------------------------------------------------------------------------------------

# Constants are built under the 80-digit context so the caller's context at import can't touch them.
with localcontext(HI):
    _LN10 = HI.ln(Decimal(10))
    _LN10_50 = CTX.plus(_LN10)
    _E1_COUNT, _E1_STEP = 74, Decimal("0.03125")  # j/32, j in 0..73, covers [0, ln 10)
    _E2_COUNT, _E2_STEP = 64, Decimal("0.00048828125")  # k/2048, k in 0..63, covers [0, 1/32)
    _E3_COUNT, _E3_STEP = 64, Decimal("0.00000762939453125")  # l/131072, covers [0, 1/2048)
    _E1_OFF = tuple(_E1_STEP * j for j in range(_E1_COUNT))
    _E2_OFF = tuple(_E2_STEP * k for k in range(_E2_COUNT))
    _E3_OFF = tuple(_E3_STEP * k for k in range(_E3_COUNT))
    _E1 = _powers(HI.exp(-_E1_STEP), _E1_COUNT)
    _E2 = _powers(HI.exp(-_E2_STEP), _E2_COUNT)
    _E3 = _powers(HI.exp(-_E3_STEP), _E3_COUNT)
    _INV_FACT = _inverse_factorials(30)
    #: ``ln N`` to 80 digits for every allowed number of outcomes ``N``.
    LN_N = {n: HI.ln(Decimal(n)) for n in range(OUTCOMES.low, OUTCOMES.high + 1)}

_TAYLOR_HIGH, _TAYLOR_REST = _INV_FACT[8], tuple(reversed(_INV_FACT[:8]))  # 1/0! .. 1/8!
_EXP_ZERO_BEYOND = Decimal(10**17)  # exp(-w) for larger w would leave the exponent range
_EXPM1_SERIES_BELOW = Decimal("0.001")


def exp_neg(w: Decimal) -> Decimal:
    """``exp(-w)`` for ``w >= 0`` (up to 80 digits). Call inside ``localcontext(CTX)``."""
    if not w:
        return _ONE
    n = 0
    if w >= _LN10_50:
        if w > _EXP_ZERO_BEYOND:
            return _ZERO
        n = int(w / _LN10_50)
        w = HI.fma(-n, _LN10, w)  # w - n ln10, one rounding at 80 digits
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


def expm1_neg(x: Decimal) -> Decimal:
    """``1 - exp(-x)`` for ``x >= 0`` to full relative precision, however small ``x`` is."""
    if x >= _EXPM1_SERIES_BELOW:
        return 1 - exp_neg(x)  # >= 1e-3, so at most 3 digits cancel
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

with localcontext(HI):
    _LN2 = CTX.plus(HI.ln(_TWO))
    _HALVES = (_ONE, Decimal("0.5"), Decimal("0.25"), Decimal("0.125"))
    _LA_COUNT, _LB_COUNT = 16, 64
    # Reciprocals of 1 + j/16 and 1 + k/1024 (rounded to 50 digits), and minus the logs of those
    # rounded values: multiplying by them is cheaper than dividing, and the identity stays exact.
    _LA_MUL = tuple(CTX.divide(_ONE, 1 + Decimal("0.0625") * j) for j in range(_LA_COUNT))
    _LB_MUL = tuple(CTX.divide(_ONE, 1 + Decimal("0.0009765625") * k) for k in range(_LB_COUNT))
    _LA_LN = tuple(CTX.plus(-_TABLE.ln(r)) for r in _LA_MUL)
    _LB_LN = tuple(CTX.plus(-_TABLE.ln(r)) for r in _LB_MUL)
    _ATANH = tuple(CTX.divide(_TWO, Decimal(2 * i + 1)) for i in range(9))  # 2/(2i+1)
    _ATANH_HIGH, _ATANH_REST = _ATANH[-1], tuple(reversed(_ATANH[:-1]))
    _LOG1P_SERIES_BELOW = Decimal("0.0009")


def _atanh2(u: Decimal) -> Decimal:
    """``2 atanh(u) = ln((1+u)/(1-u))`` for ``|u| < 1/2048``."""
    v = u * u
    c1, c2, c3, c4, c5, c6, c7, c8 = _ATANH_REST
    return u * (((((((((_ATANH_HIGH * v + c1) * v + c2) * v + c3) * v + c4) * v + c5) * v + c6) * v + c7) * v) + c8)


def ln(a: Decimal) -> Decimal:
    """``ln a`` for a finite ``a > 0``. Call inside ``localcontext(CTX)``."""
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


def log1p(d: Decimal) -> Decimal:
    """``ln(1 + d)`` for ``d > -1`` to full relative precision, however small ``d`` is."""
    if -_LOG1P_SERIES_BELOW < d < _LOG1P_SERIES_BELOW:
        return _atanh2(d / (2 + d)) if d else _ZERO
    return ln(1 + d)  # |ln(1+d)| >= ~9e-4, so the rounding of 1 + d costs < 1e-46 relative
