"""The bounds (`app/domain/limits.py`)."""

from __future__ import annotations

from app.domain.limits import LIQUIDITY, MAX_SHARES, SHARE_PLACES, Bounds


def test_bounds_are_inclusive_whole_numbers() -> None:
    assert 10 in LIQUIDITY and 1_000_000 in LIQUIDITY
    assert 9 not in LIQUIDITY and 1_000_001 not in LIQUIDITY
    assert True not in Bounds(0, 5) and 2.0 not in Bounds(0, 5)
    assert Bounds(1, 2_000).describe("Stake") == "Stake must be between 1 and 2,000."


def test_the_share_bound_fits_a_bigint_of_micro_shares() -> None:
    assert MAX_SHARES.scaleb(SHARE_PLACES) < 2**63
