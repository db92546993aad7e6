"""Proves the books balance: every invariant of the ledger, checked from the tables alone."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from app.persistence.unit_of_work import UnitOfWork
from app.services.common import accounts, markets, transfers
from models.tables import positions


async def verify_ledger(uow: UnitOfWork) -> list[str]:
    """Every violation found, as a sentence naming the row; an empty list means the books balance."""
    problems: list[str] = []
    conn = uow.conn
    debit_acc = accounts.alias("debit_acc")
    credit_acc = accounts.alias("credit_acc")

    bad_transfers = await conn.execute(
        sa.select(transfers.c.id, transfers.c.amount, debit_acc.c.id, credit_acc.c.id)
        .select_from(
            transfers.outerjoin(debit_acc, debit_acc.c.id == transfers.c.debit_account_id).outerjoin(
                credit_acc, credit_acc.c.id == transfers.c.credit_account_id
            )
        )
        .where(
            sa.or_(
                transfers.c.amount <= 0,
                transfers.c.debit_account_id == transfers.c.credit_account_id,
                debit_acc.c.id.is_(None),
                credit_acc.c.id.is_(None),
                debit_acc.c.guild_id != transfers.c.guild_id,
                credit_acc.c.guild_id != transfers.c.guild_id,
            )
        )
    )
    for transfer_id, amount, debit, credit in bad_transfers:
        problems.append(
            f"transfer {transfer_id} is unbalanced (amount {amount}, debit account {debit}, credit account {credit})"
        )

    credits = sa.select(transfers.c.credit_account_id.label("account_id"), transfers.c.amount.label("delta"))
    debits = sa.select(transfers.c.debit_account_id.label("account_id"), (-transfers.c.amount).label("delta"))
    movements = sa.union_all(credits, debits).subquery()
    sums = (
        sa.select(movements.c.account_id, sa.func.sum(movements.c.delta).label("total"))
        .group_by(movements.c.account_id)
        .subquery()
    )
    rows = await conn.execute(
        sa.select(accounts.c.id, accounts.c.kind, accounts.c.guild_id, accounts.c.balance, sums.c.total).outerjoin(
            sums, sums.c.account_id == accounts.c.id
        )
    )
    guild_totals: dict[int, int] = defaultdict(int)
    pool_balance: dict[int, int] = {}
    for account_id, kind, guild_id, balance, total in rows:
        entries = int(total or 0)
        guild_totals[guild_id] += int(balance)
        if int(balance) != entries:
            problems.append(
                f"account {account_id} ({kind}) has balance {balance} but its ledger entries sum to {entries}"
            )
        if kind != "house" and balance < 0:
            problems.append(f"account {account_id} ({kind}) has a negative balance {balance}")
        if kind == "market":
            pool_balance[account_id] = int(balance)
    for guild_id, total in guild_totals.items():
        if total != 0:
            problems.append(f"guild {guild_id}: balances sum to {total}, not 0 (points appeared or vanished)")

    held = defaultdict(int)
    for market_id, outcome, total in await conn.execute(
        sa.select(positions.c.market_id, positions.c.outcome, sa.func.sum(positions.c.shares)).group_by(
            positions.c.market_id, positions.c.outcome
        )
    ):
        held[(market_id, outcome)] = int(total)
    for market in (await conn.execute(sa.select(markets))).mappings():
        label = f"market {market['id']} (#{market['number']} in guild {market['guild_id']})"
        pool = pool_balance.get(market["pool_account_id"])
        if pool is None:
            problems.append(f"{label} has no pool account")
            continue
        shares = [int(q) for q in market["shares"]]
        for outcome, q in enumerate(shares):
            if held[(market["id"], outcome)] != q:
                in_positions = held[(market["id"], outcome)]
                problems.append(f"{label}: outcome {outcome} has {q} micro-shares but positions hold {in_positions}")
        if market["status"] in ("resolved", "cancelled"):
            if pool != 0:
                problems.append(f"{label} is {market['status']} but still holds {pool} points")
        elif pool * 1_000_000 < max(shares, default=0):
            problems.append(
                f"{label}: pool of {pool} points cannot cover the worst-case payout ({max(shares)} micro-shares)"
            )
    return problems
