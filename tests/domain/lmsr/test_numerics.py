"""The Decimal kernels against mpmath at high precision: ``exp(-w)``, ``1 - exp(-x)``, ``ln`` and
``log1p``, well within the ~1e-40 relative error bound the market maker's rounding argument allows."""

from __future__ import annotations

import decimal
import random
from decimal import Decimal, localcontext
from typing import Any

import pytest

from app.domain.limits import OUTCOMES
from app.domain.lmsr.numerics import CTX, HI, LN_N, exp_neg, expm1_neg, ln, log1p
from tests.domain.lmsr.reference import mp

D = Decimal
TOL = "1e-48"  # exp(-w), and 1 - exp(-x) and log1p from their series: ~1e-49 relative
CANCEL_TOL = "1e-46"  # 1 - exp(-x) for x >= 1e-3 and ln(1 + d) for |d| >= 9e-4: up to 3 digits cancel


def rel_err(got: Decimal, exact: Any, mpmath: Any) -> Any:
    got_mp = mpmath.mpf(str(got))
    return abs(got_mp - exact) / abs(exact) if exact else abs(got_mp)


def samples(seed: int) -> list[Decimal]:
    """Arguments from 1e-60 to 1e6, at many scales, with 50 and 80 digits."""
    rnd = random.Random(seed)
    out = [D(0), D("1e-60"), D("1e-30"), D("0.0009"), D("0.001"), D("0.03125"), D(1), D(2), D(10)]
    for _ in range(300):
        digits = rnd.choice([50, 80])
        mantissa = D(rnd.randrange(10 ** (digits - 1), 10**digits))
        out.append(mantissa.scaleb(-digits + rnd.randint(-40, 7), context=HI))
    return out


def test_the_contexts() -> None:
    assert CTX.prec == 50 and HI.prec == 80
    assert CTX.Emax == decimal.MAX_EMAX and CTX.Emin == decimal.MIN_EMIN
    assert CTX.traps[decimal.InvalidOperation] and CTX.traps[decimal.DivisionByZero] and CTX.traps[decimal.Overflow]
    assert not CTX.traps[decimal.Inexact] and not CTX.traps[decimal.Underflow]


def test_ln_n_covers_every_allowed_number_of_outcomes() -> None:
    mpmath = mp()
    assert sorted(LN_N) == list(range(OUTCOMES.low, OUTCOMES.high + 1))
    with mpmath.workdps(120):
        for n, value in LN_N.items():
            assert rel_err(value, mpmath.log(n), mpmath) < mpmath.mpf("1e-78")


def test_exp_neg() -> None:
    mpmath = mp()
    with mpmath.workdps(150), localcontext(CTX):
        for w in samples(1):
            assert rel_err(exp_neg(w), mpmath.exp(-mpmath.mpf(str(w))), mpmath) < mpmath.mpf(TOL), w
        assert exp_neg(D(0)) == 1
        for w in (D(10**6), D(10**15), D(10**17)):  # far below 1, still inside the exponent range
            assert rel_err(exp_neg(w), mpmath.exp(-mpmath.mpf(str(w))), mpmath) < mpmath.mpf("1e-30"), w
        assert exp_neg(D(10**17) + 1) == 0  # exp(-w) would leave the exponent range


def test_expm1_neg() -> None:
    mpmath = mp()
    with mpmath.workdps(150), localcontext(CTX):
        for x in samples(2):
            if x:
                tol = mpmath.mpf(TOL if x < D("0.001") else CANCEL_TOL)
                assert rel_err(expm1_neg(x), -mpmath.expm1(-mpmath.mpf(str(x))), mpmath) < tol, x
        assert expm1_neg(D(0)) == 0
        assert expm1_neg(D("1e-900")) == D("1e-900")  # full relative precision, however small


def test_ln() -> None:
    mpmath = mp()
    with mpmath.workdps(150), localcontext(CTX):
        for a in samples(3):
            if a:
                exact = mpmath.log(mpmath.mpf(str(a)))
                assert abs(mpmath.mpf(str(ln(a))) - exact) < mpmath.mpf(TOL) * max(1, abs(exact)), a
        assert ln(D(1)) == 0
        assert abs(mpmath.mpf(str(ln(D("1e-5000")))) + 5000 * mpmath.log(10)) < mpmath.mpf("1e-45")


def test_log1p() -> None:
    mpmath = mp()
    with mpmath.workdps(150), localcontext(CTX):
        for d in samples(4):
            for value in (d, -d / (1 + d)):  # both signs, inside (-1, oo)
                if value:
                    tol = mpmath.mpf(TOL if abs(value) < D("0.0009") else CANCEL_TOL)
                    assert rel_err(log1p(value), mpmath.log1p(mpmath.mpf(str(value))), mpmath) < tol, value
        assert log1p(D(0)) == 0
        assert log1p(D("1e-900")) == D("1e-900")


@pytest.mark.parametrize("kernel", [exp_neg, expm1_neg, ln, log1p])
def test_kernels_are_deterministic(kernel: Any) -> None:
    with localcontext(CTX):
        values = [kernel(x) for x in samples(5) if x]
        assert [kernel(x) for x in samples(5) if x] == values
