"""The market maker: Hanson's logarithmic market scoring rule (LMSR), in Decimal.

A pure package: no I/O and no imports beyond the standard library, :mod:`app.domain.errors` and
:mod:`app.domain.limits` (every bound it enforces is defined there, once).

Layout
------
* :mod:`~app.domain.lmsr.numerics`: the fixed Decimal contexts and the table-driven kernels
  (``exp`` of a negative argument, ``expm1``, ``ln``, ``log1p``).
* :mod:`~app.domain.lmsr.state`: :class:`MarketState`, its log-sum-exp analysis (cached on the state
  object), :func:`new_market`, :func:`cost`, :func:`prices`, and the validation of share amounts.
* :mod:`~app.domain.lmsr.trading`: :class:`TradeResult`, :func:`quote_buy` / :func:`buy`,
  :func:`quote_sell` / :func:`sell`, :func:`points_for_shares`.
* :mod:`~app.domain.lmsr.settlement`: :func:`resolution_payouts`, :func:`weighted_payouts`,
  :func:`cancellation_refunds`, :func:`scale_to_fit`, in integers on micro-shares.
* :mod:`~app.domain.lmsr.subsidy`: :func:`subsidize` (more liquidity, the same prices) and
  :func:`required_pool` (what the pool must hold for the worst case).

The rules
---------
A market has ``N`` outcomes (``limits.OUTCOMES``, 2..10) and a liquidity ``L`` in whole points;
``b = L / ln N``. Its state is ``q``, the shares of each outcome held by traders (all 0 at the start).
The cost function is ``C(q) = b ln sum_j exp(q_j / b)`` and the price of outcome ``i`` is
``p_i = exp(q_i / b) / sum_j exp(q_j / b)``. Buying ``X`` points of outcome ``i`` gives
``b ln(1 + (exp(X/b) - 1) / p_i)`` shares, rounded *down* to 6 decimals; selling ``s`` shares returns
``-b ln(1 - p_i (1 - exp(-s/b)))`` points, rounded *down* to a whole point. Both are the exact LMSR cost
difference ``C(q') - C(q)``. Resolving to outcome ``i`` pays each holder ``floor(their shares of i)``
points; a weighted resolution (whole percentages ``w``) pays ``floor(sum_i shares_i w_i / 100)``;
cancelling refunds each trader's net stake, floored at 0 (scaled down pro rata if the pool is short).

Numerics
--------
* Everything is :class:`~decimal.Decimal` in a fixed private context (50 significant digits, a huge
  exponent range; 80 digits where an argument is reduced), always entered explicitly, so results
  never depend on the caller's context and are bit-identical from run to run. No floats anywhere.
  Settlement is integer arithmetic on the stored micro-shares: exact, and no Decimal at all.
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

from app.domain.lmsr.settlement import cancellation_refunds, resolution_payouts, scale_to_fit, weighted_payouts
from app.domain.lmsr.state import SHARE_QUANTUM, MarketState, cost, new_market, prices
from app.domain.lmsr.subsidy import required_pool, subsidize
from app.domain.lmsr.trading import TradeResult, buy, points_for_shares, quote_buy, quote_sell, sell

__all__ = [
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
    "required_pool",
    "resolution_payouts",
    "scale_to_fit",
    "sell",
    "subsidize",
    "weighted_payouts",
]
