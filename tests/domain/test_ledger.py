"""Accounts and transfers (`app/domain/ledger.py`)."""

from __future__ import annotations

from app.domain.ledger import Transfer, TransferReason, balance_changes


def test_balance_changes_net_every_transfer_per_account() -> None:
    moves = [
        Transfer(1, 2, 100, TransferReason.STAKE),
        Transfer(2, 1, 30, TransferReason.SALE),
        Transfer(3, 2, 5, TransferReason.GIFT),
        Transfer(4, 5, 7, TransferReason.GIFT),
        Transfer(5, 4, 7, TransferReason.GIFT),
    ]
    changes = balance_changes(moves)
    assert changes == {1: -70, 2: 75, 3: -5}  # 4 and 5 net to nothing
    assert sum(changes.values()) == 0
