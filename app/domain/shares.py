"""Shares are held as whole micro-shares (shares x 10**6) everywhere outside the market maker's Decimals."""

from __future__ import annotations

from decimal import Decimal

from app.domain.limits import SHARE_PLACES

MICRO = 10**SHARE_PLACES


def to_micro(shares: Decimal) -> int:
    return int(shares.scaleb(SHARE_PLACES))


def from_micro(micro: int) -> Decimal:
    return Decimal(micro).scaleb(-SHARE_PLACES)
