"""What `verify-ledger` reads of the books (every row, so an operator's command, not a request's)."""

from __future__ import annotations

import sqlalchemy as sa

from app.domain.ledger import AccountKind, TransferReason
from app.domain.market import Market
from app.persistence.session import Session
from app.persistence.sql import market_from_row
from app.services.rows import AccountTotal
from models.schema import accounts, markets, positions, transfers


class SqlBooks:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def malformed_transfers(self) -> list[tuple[int, int, int | None, int | None]]:
        debit = accounts.alias("debit_acc")
        credit = accounts.alias("credit_acc")
        query = (
            sa.select(transfers.c.id, transfers.c.amount, debit.c.id, credit.c.id)
            .select_from(
                transfers.outerjoin(debit, debit.c.id == transfers.c.debit_account_id).outerjoin(
                    credit, credit.c.id == transfers.c.credit_account_id
                )
            )
            .where(
                sa.or_(
                    transfers.c.amount <= 0,
                    transfers.c.debit_account_id == transfers.c.credit_account_id,
                    debit.c.id.is_(None),
                    credit.c.id.is_(None),
                    debit.c.guild_id != transfers.c.guild_id,
                    credit.c.guild_id != transfers.c.guild_id,
                )
            )
        )
        return [(int(t), int(a), d, c) for t, a, d, c in await self._session.conn.execute(query)]

    async def stray_shortfalls(self) -> list[int]:
        debit = accounts.alias("debit_acc")
        credit = accounts.alias("credit_acc")
        query = (
            sa.select(transfers.c.id)
            .select_from(
                transfers.join(debit, debit.c.id == transfers.c.debit_account_id).join(
                    credit, credit.c.id == transfers.c.credit_account_id
                )
            )
            .where(
                transfers.c.reason == TransferReason.SHORTFALL.value,
                sa.or_(
                    debit.c.kind != AccountKind.HOUSE.value,
                    credit.c.kind != AccountKind.MEMBER.value,
                    transfers.c.market_id.is_(None),
                ),
            )
        )
        return [int(t) for t in await self._session.conn.scalars(query)]

    async def account_totals(self) -> list[AccountTotal]:
        credits = sa.select(transfers.c.credit_account_id.label("account_id"), transfers.c.amount.label("delta"))
        debits = sa.select(transfers.c.debit_account_id.label("account_id"), (-transfers.c.amount).label("delta"))
        movements = sa.union_all(credits, debits).subquery()
        sums = (
            sa.select(movements.c.account_id, sa.func.sum(movements.c.delta).label("total"))
            .group_by(movements.c.account_id)
            .subquery()
        )
        query = sa.select(
            accounts.c.id, accounts.c.kind, accounts.c.guild_id, accounts.c.balance, sums.c.total
        ).outerjoin(sums, sums.c.account_id == accounts.c.id)
        return [
            AccountTotal(id=int(i), kind=str(k), guild_id=int(g), balance=int(b), entries=int(t or 0))
            for i, k, g, b, t in await self._session.conn.execute(query)
        ]

    async def position_totals(self) -> dict[tuple[int, int], int]:
        query = sa.select(positions.c.market_id, positions.c.outcome, sa.func.sum(positions.c.shares)).group_by(
            positions.c.market_id, positions.c.outcome
        )
        return {(int(m), int(o)): int(total) for m, o, total in await self._session.conn.execute(query)}

    async def all_markets(self) -> list[Market]:
        return [market_from_row(row) for row in (await self._session.conn.execute(sa.select(markets))).mappings()]
