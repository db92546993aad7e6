"""Settlement: what each trader gets when a market resolves or is cancelled, in exact integer arithmetic.

Holdings come as whole micro-shares (ints), one per outcome, as they are stored: a resolution pays
``floor(micro / 10**6)`` points of the winning outcome, a weighted one
``floor(sum_i micro_i * w_i / (100 * 10**6))``. Nothing here touches a Decimal, so it stays fast for
100,000 holders.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from operator import mul
from typing import TypeVar

from app.domain.errors import ValidationError
from app.domain.limits import MAX_SHARES, OUTCOMES
from app.domain.lmsr.state import MICRO, is_int

__all__ = ["cancellation_refunds", "resolution_payouts", "scale_to_fit", "weighted_payouts"]

K = TypeVar("K", bound=Hashable)

_MAX_MICRO = int(MAX_SHARES) * MICRO  # the most micro-shares of one outcome anyone can hold
_ROW = "Holdings must list the shares of every outcome."


def _check_holdings(holdings: Mapping[K, Sequence[int]], n: int | None) -> int | None:
    """Check every row is ``n`` whole micro-shares (``n`` taken from the first row if None), each within
    the storage bound; returns ``n`` (None for no holdings and no ``n``).

    One tight pass (a million values in ~50 ms); a value that fails it is looked at again for the message.
    """
    top, int_ = _MAX_MICRO, int
    for row in holdings.values():
        kind = type(row)
        if kind is not list and kind is not tuple and (isinstance(row, (str, bytes)) or not isinstance(row, Sequence)):
            raise ValidationError(_ROW)
        if n is None:
            n = len(row)
            if n not in OUTCOMES:
                raise ValidationError(_ROW)
        if len(row) != n:
            raise ValidationError(_ROW)
        for v in row:
            if type(v) is not int_ or v < 0 or v > top:
                _check_holding(v)
    return n


def _check_holding(v: object) -> None:
    """Refuse a holding that isn't a whole number of micro-shares within the storage bound."""
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValidationError("A holding must be a whole number of micro-shares.")
    if v < 0:
        raise ValidationError("A holding can't be negative.")
    if v > _MAX_MICRO:
        raise ValidationError("A holding is larger than this market supports.")


def resolution_payouts(holdings: Mapping[K, Sequence[int]], outcome: int) -> dict[K, int]:
    """Resolution to ``outcome``: each trader gets floor(their shares of it). Zero payouts omitted.

    ``holdings`` maps each trader to their micro-shares of every outcome.
    """
    if not is_int(outcome) or not 0 <= outcome < OUTCOMES.high:
        raise ValidationError("That outcome doesn't exist in this market.")
    n = _check_holdings(holdings, None)
    if n is not None and outcome >= n:
        raise ValidationError("That outcome doesn't exist in this market.")
    out: dict[K, int] = {}
    for key, row in holdings.items():
        pay = row[outcome] // MICRO
        if pay:
            out[key] = pay
    return out


def weighted_payouts(holdings: Mapping[K, Sequence[int]], weights: Sequence[int]) -> dict[K, int]:
    """Weighted resolution: floor(sum_i shares_i * w_i / 100), ``weights`` whole percentages.

    ``holdings`` maps each trader to their micro-shares of every outcome.
    """
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise ValidationError("Weights must be whole percentages, one per outcome.")
    w = list(weights)
    if len(w) not in OUTCOMES:
        raise ValidationError("Weights must be whole percentages, one per outcome.")
    if not all(is_int(v) and v >= 0 for v in w):
        raise ValidationError("Weights must be whole percentages (0 or more), one per outcome.")
    if sum(w) != 100:
        raise ValidationError("Weights must add up to 100%.")
    _check_holdings(holdings, len(w))
    unit = 100 * MICRO
    out: dict[K, int] = {}
    for key, row in holdings.items():
        pay = sum(map(mul, row, w)) // unit
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
        if not (is_int(paid_in) and is_int(taken_out)) or paid_in < 0 or taken_out < 0:
            raise ValidationError("Points paid in and taken out must be whole numbers, 0 or more.")
        refund = paid_in - taken_out
        if refund > 0:
            out[key] = refund
    return out


def scale_to_fit(amounts: dict[K, int], available: int) -> dict[K, int]:
    """Shrink refunds pro rata (rounding down) when traders who sold at a profit left the pool short.

    Refunds are what each trader put in net of sales; a trader who took out more than they put in
    keeps that profit, which can leave less in the pool than the others paid. The pool never pays out
    more than it holds, so the shortfall is shared in proportion.
    """
    total = sum(amounts.values())
    if total <= available:
        return amounts
    return {k: v * available // total for k, v in amounts.items()}
