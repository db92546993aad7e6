"""Subsidies: deepening a market with more liquidity without moving its prices.

Prices depend on ``x / b`` only (``x`` the market maker's shares, ``b = L / ln N``), so a market deepened
from ``L`` to ``L' = k L`` keeps its prices when its state becomes ``k x + c`` (any ``c`` added to every
outcome). The market maker's state then differs from the shares members hold (``q``): it is kept as
``x = q + s`` with a *shift* ``s >= 0`` (``min s = 0``), which trades leave alone.

What the pool must hold: a market can always pay its worst case when ``pool >= C_b(x) + max_j (q_j - x_j)``
(trades keep this, as they add at least the cost difference to the pool; as ``x_j`` grows without bound
``C_b(x) - x_j`` goes to 0, so it is also necessary). Deepening by ``k`` raises the right side by at most
``(k - 1) (C_b(x) - min_j x_j)``, so ``A`` points buy ``L' = L + floor(L A / (C_b(x) - min_j x_j))``:
``A`` exactly on a fresh market, less on one whose volume has already moved it. The new state is rounded to
micro-shares, so prices move by at most ``1e-6 / (4 b')`` (below ``1e-9`` once ``b' >= 250``); the
condition is then checked on the rounded state, exactly as a buy is re-checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, localcontext

from app.domain.errors import ValidationError
from app.domain.limits import MAX_POINTS, SHARE_PLACES
from app.domain.lmsr.numerics import CTX
from app.domain.lmsr.state import MarketState, cost, is_int

__all__ = ["required_pool", "subsidize"]

_UP = Decimal("1e-20")  # the liquidity bought is rounded up past noise, then checked exactly
_TOL = Decimal("1e-30")  # tolerance of the check (far below a micro-share: payouts are floored)


def _state(liquidity: int, micro: Sequence[int]) -> MarketState:
    return MarketState(liquidity=liquidity, shares=tuple(Decimal(m).scaleb(-SHARE_PLACES) for m in micro))


def required_pool(liquidity: int, maker: Sequence[int], outstanding: Sequence[int]) -> Decimal:
    """The least the pool must hold so the market can pay its worst case now and after any trade:
    ``C_b(x) + max_j (q_j - x_j)`` in points (``x``, ``q`` in micro-shares)."""
    with localcontext(CTX):
        gap = max(q - x for q, x in zip(outstanding, maker, strict=True))
        return cost(_state(liquidity, maker)) + Decimal(gap).scaleb(-SHARE_PLACES)


def _deepened(liquidity: int, new_liquidity: int, maker: Sequence[int], outstanding: Sequence[int]) -> tuple[int, ...]:
    """``k x + c`` for ``k = new / old``, ``c`` making the smallest shift 0, each rounded to a micro-share."""
    scaled = [new_liquidity * x - liquidity * q for x, q in zip(maker, outstanding, strict=True)]
    low = min(scaled)
    return tuple(q + (2 * (v - low) + liquidity) // (2 * liquidity) for v, q in zip(scaled, outstanding, strict=True))


def subsidize(
    liquidity: int, maker: Sequence[int], outstanding: Sequence[int], pool: int, amount: int
) -> tuple[int, tuple[int, ...]]:
    """A market deepened by ``amount`` points added to its ``pool``: its new liquidity and market-maker state
    (micro-shares), with every price unchanged (to the rounding of a micro-share) and the worst case covered.

    ``maker`` is the market maker's state, ``outstanding`` the shares members hold (both micro-shares).
    """
    if not is_int(amount) or amount < 1 or amount > MAX_POINTS:
        raise ValidationError(f"A subsidy must be a whole number of points from 1 to {MAX_POINTS:,}.")
    if not is_int(pool) or pool < 0 or len(maker) != len(outstanding):
        raise ValueError("a market's pool is whole points and its states list every outcome")
    with localcontext(CTX):
        depth = cost(_state(liquidity, maker)) - Decimal(min(maker)).scaleb(-SHARE_PLACES)
        added = int((liquidity * amount / depth + _UP).to_integral_value(rounding=ROUND_FLOOR))
        available = pool + amount + _TOL
        for candidate in range(added, max(added - 3, 0), -1):  # the first fits but for noise at a boundary
            deeper = _deepened(liquidity, liquidity + candidate, maker, outstanding)
            if required_pool(liquidity + candidate, deeper, outstanding) <= available:
                return liquidity + candidate, deeper
    least = int((depth / liquidity).to_integral_value(rounding=ROUND_FLOOR)) + 1
    raise ValidationError(f"That's too little to deepen this market: subsidise at least {least:,} points.")
