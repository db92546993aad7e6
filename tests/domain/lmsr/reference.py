"""An independent reference for the market maker: the textbook formulas, in mpmath at high precision."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest


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


def exactly(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"
