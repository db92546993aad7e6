"""Subsidies: deepening a market with more liquidity without moving its prices.

Prices depend on ``x / b`` only (``x`` the market maker's shares, ``b = L / ln N``), so a market deepened
from ``L`` to ``L' = k L`` keeps its prices when its state becomes ``k x + c`` (any ``c`` added to every
outcome). The market maker's state then differs from the shares members hold (``q``): it is kept as
``x = q + s`` with a *shift* ``s >= 0`` (``min s = 0``), which trades leave alone.

What the pool must hold: a market can always pay its worst case when ``pool >= C_b(x) + max_j (q_j - x_j)``
(trades keep this, as they add at least the cost difference to the pool; as ``x_j`` grows without bound
``C_b(x) - x_j`` goes to 0, so it is also necessary). Deepening by ``k`` raises the right side by at most
``(k - 1) (C_b(x) - min_j x_j)``, so ``A`` points buy ``L' <= L + floor(L A / (C_b(x) - min_j x_j))``:
``A`` exactly on a fresh market, less on one whose volume has already moved it.

The new state must be whole micro-shares. Some ``k x + c`` is, exactly when ``L'`` is a multiple of the step
``L / gcd(L, G)`` (``G`` the gcd of the differences ``x_j - x_0``; the step is 1 on a fresh market, where
``G = 0``): then no price moves at all, and only then (the prices fix ``x' / b'`` up to a constant). Any other
``L'`` needs the state rounded, which moves a price by up to ``(e^(1e-6 / b') - 1) / 4``, about ``2.5e-7 / b'``:
a rounded state is taken only if it moves no price by more than 1e-9, measured (always so from ``b' = 251``);
otherwise the liquidity bought is rounded down to a multiple of the step. Whatever ``A`` buys, the member pays
``A``: points that buy no liquidity stay in the pool over the worst case and, like the rest, return to the house
once the market settles. The worst case is then checked on the new state, exactly as a buy is re-checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, localcontext
from math import gcd

from app.domain.errors import ValidationError
from app.domain.limits import MAX_POINTS, SHARE_PLACES
from app.domain.lmsr.numerics import CTX
from app.domain.lmsr.state import MarketState, cost, is_int, prices

__all__ = ["exact_step", "required_pool", "subsidize"]

_UP = Decimal("1e-20")  # the liquidity bought is rounded up past noise, then checked exactly
_TOL = Decimal("1e-30")  # tolerance of the check (far below a micro-share: payouts are floored)
_MOVE = Decimal("1e-9")  # the most a subsidy may move a price
_ROUNDED_TRIES = 16  # liquidities tried with a rounded state before the largest exact one


def _state(liquidity: int, micro: Sequence[int]) -> MarketState:
    return MarketState(liquidity=liquidity, shares=tuple(Decimal(m).scaleb(-SHARE_PLACES) for m in micro))


def _required(state: MarketState, outstanding: Sequence[int]) -> Decimal:
    maker = (int(x.scaleb(SHARE_PLACES)) for x in state.shares)
    gap = max(q - x for q, x in zip(outstanding, maker, strict=True))
    return cost(state) + Decimal(gap).scaleb(-SHARE_PLACES)


def required_pool(liquidity: int, maker: Sequence[int], outstanding: Sequence[int]) -> Decimal:
    """The least the pool must hold so the market can pay its worst case now and after any trade:
    ``C_b(x) + max_j (q_j - x_j)`` in points (``x``, ``q`` in micro-shares)."""
    with localcontext(CTX):
        return _required(_state(liquidity, maker), outstanding)


def exact_step(liquidity: int, maker: Sequence[int]) -> int:
    """The least step of liquidity that scales ``maker`` exactly: ``L' (x_j - x_0) / L`` is a whole number of
    micro-shares for every ``j`` when ``L'`` is a multiple of it."""
    spread = 0
    for x in maker:
        spread = gcd(spread, x - maker[0])
    return liquidity // gcd(liquidity, spread)


def _deepened(liquidity: int, new_liquidity: int, maker: Sequence[int], outstanding: Sequence[int]) -> tuple[int, ...]:
    """``k x + c`` for ``k = new / old``, ``c`` making the smallest shift 0, each rounded to a micro-share
    (exact when ``new_liquidity`` is a multiple of :func:`exact_step`)."""
    scaled = [new_liquidity * x - liquidity * q for x, q in zip(maker, outstanding, strict=True)]
    low = min(scaled)
    return tuple(q + (2 * (v - low) + liquidity) // (2 * liquidity) for v, q in zip(scaled, outstanding, strict=True))


def _candidates(most: int, step: int) -> list[int]:
    """Liquidity to add, largest first: the most the amount buys and a few below it (with a rounded state),
    then the largest exact one and two below it (in case the first misses the worst case by noise)."""
    exact = most - most % step
    rounded = range(most, max(exact, most - _ROUNDED_TRIES), -1)
    return [c for c in (*rounded, exact, exact - step, exact - 2 * step) if c > 0]


def subsidize(
    liquidity: int, maker: Sequence[int], outstanding: Sequence[int], pool: int, amount: int
) -> tuple[int, tuple[int, ...]]:
    """A market deepened by ``amount`` points added to its ``pool``: its new liquidity and market-maker state
    (micro-shares), with no price moved by more than 1e-9 and the worst case covered.

    ``maker`` is the market maker's state, ``outstanding`` the shares members hold (both micro-shares).
    """
    if not is_int(amount) or amount < 1 or amount > MAX_POINTS:
        raise ValidationError(f"A subsidy must be a whole number of points from 1 to {MAX_POINTS:,}.")
    if not is_int(pool) or pool < 0 or len(maker) != len(outstanding):
        raise ValueError("a market's pool is whole points and its states list every outcome")
    with localcontext(CTX):
        state = _state(liquidity, maker)
        depth = cost(state) - Decimal(min(maker)).scaleb(-SHARE_PLACES)
        most = int((liquidity * amount / depth + _UP).to_integral_value(rounding=ROUND_FLOOR))
        step = exact_step(liquidity, maker)
        before = prices(state)
        for added in _candidates(most, step):
            deeper = _deepened(liquidity, liquidity + added, maker, outstanding)
            new = _state(liquidity + added, deeper)
            if _required(new, outstanding) > pool + amount + _TOL:
                continue
            if max(abs(p - b) for p, b in zip(prices(new), before, strict=True)) <= _MOVE:
                return liquidity + added, deeper
        least = max(int((step * depth / liquidity).to_integral_value(rounding=ROUND_FLOOR)) + 1, amount + 1)
    raise ValidationError(
        f"That's too little to deepen this market without moving its prices: subsidise at least {least:,} points."
    )
