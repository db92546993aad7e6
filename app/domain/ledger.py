"""The books: accounts and the transfers between them (double entry, append-only).

Points never appear or vanish: each transfer takes `amount` from one account and gives it to another, and
an account's balance is the sum of its transfers. Only the house (which issues every point a server has)
may go below zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class AccountKind(StrEnum):
    MEMBER = "member"
    HOUSE = "house"
    MARKET = "market"  # a market's pool: the liquidity and every stake, until the market settles


class TransferReason(StrEnum):
    STARTING_GRANT = "starting_grant"
    DAILY_BONUS = "daily_bonus"
    GIFT = "gift"
    ADMIN_GRANT = "admin_grant"
    STAKE = "stake"
    SALE = "sale"
    PAYOUT = "payout"
    REFUND = "refund"
    SUBSIDY = "subsidy"  # liquidity into a market's pool: the house's at creation, a member's by /market subsidize
    HOUSE_RETURN = "house_return"
    UNRESOLVE = "unresolve"  # a settlement reversed: what its payouts and house return put back into the pool
    SHORTFALL = "shortfall"  # the part of a reversed payout its winner had already spent: the house pays it
    SEASON_RESET = "season_reset"  # a member's balance brought back to the starting balance for a new season


@dataclass(frozen=True, slots=True)
class Transfer:
    """`amount` points leave `debit` and arrive in `credit` (account ids)."""

    debit: int
    credit: int
    amount: int
    reason: TransferReason
    market_id: int | None = None


def balance_changes(transfers: Iterable[Transfer]) -> dict[int, int]:
    """What the transfers do to each account's balance, by account id (accounts left unchanged omitted)."""
    changes: dict[int, int] = defaultdict(int)
    for transfer in transfers:
        changes[transfer.debit] -= transfer.amount
        changes[transfer.credit] += transfer.amount
    return {account: change for account, change in changes.items() if change}
