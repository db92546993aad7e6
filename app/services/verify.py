"""Proves the books balance: every invariant of the ledger, checked from the stored rows alone."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from app.domain import lmsr
from app.domain.ledger import AccountKind
from app.domain.shares import MICRO
from app.services.ports import UnitOfWork

_TOLERANCE = Decimal("1e-30")  # the market maker's own check's (payouts are whole micro-shares, floored)


async def verify_ledger(uow: UnitOfWork) -> list[str]:
    """Every violation found, as a sentence naming the row; an empty list means the books balance."""
    problems: list[str] = []
    for transfer_id, amount, debit, credit in await uow.books.malformed_transfers():
        problems.append(
            f"transfer {transfer_id} is unbalanced (amount {amount}, debit account {debit}, credit account {credit})"
        )

    for transfer_id in await uow.books.stray_shortfalls():
        problems.append(f"transfer {transfer_id} is a shortfall that does not go from the house to a member")

    guild_totals: dict[int, int] = defaultdict(int)
    pool_balance: dict[int, int] = {}
    for account in await uow.books.account_totals():
        guild_totals[account.guild_id] += account.balance
        if account.balance != account.entries:
            problems.append(
                f"account {account.id} ({account.kind}) has balance {account.balance} "
                f"but its ledger entries sum to {account.entries}"
            )
        if account.kind != AccountKind.HOUSE and account.balance < 0:
            problems.append(f"account {account.id} ({account.kind}) has a negative balance {account.balance}")
        if account.kind == AccountKind.MARKET:
            pool_balance[account.id] = account.balance
    for guild_id, total in guild_totals.items():
        if total != 0:
            problems.append(f"guild {guild_id}: balances sum to {total}, not 0 (points appeared or vanished)")

    held = await uow.books.position_totals()
    for market in await uow.books.all_markets():
        label = f"market {market.id} (#{market.number} in guild {market.guild_id})"
        pool = pool_balance.get(market.pool_account_id)
        if pool is None:
            problems.append(f"{label} has no pool account")
            continue
        for outcome, q in enumerate(market.shares):
            in_positions = held.get((market.id, outcome), 0)
            if in_positions != q:
                problems.append(f"{label}: outcome {outcome} has {q} micro-shares but positions hold {in_positions}")
        if market.status.is_settled:
            if pool != 0:
                problems.append(f"{label} is {market.status} but still holds {pool} points")
        elif pool * MICRO < max(market.shares, default=0):
            problems.append(
                f"{label}: pool of {pool} points cannot cover the worst-case payout ({max(market.shares)} micro-shares)"
            )
        elif lmsr.required_pool(market.liquidity, market.maker_shares(), market.shares) - pool > _TOLERANCE:
            problems.append(f"{label}: pool of {pool} points cannot cover the worst case after every possible trade")
    for account_id in await uow.scores.drifted_records():
        problems.append(f"account {account_id}: its forecasting record is not the sum of its market results")
    for market_id in await uow.scores.stray_results():
        problems.append(f"market {market_id} is not resolved but still has forecasting results")
    return problems
