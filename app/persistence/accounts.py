"""Accounts: one per member per server, one house account per server, one pool per market.

Lock order, the same in every use case: market rows first, then the house account, then member accounts in
id order (a market's pool is only touched under its market's lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.domain.errors import NotFound
from app.domain.ledger import AccountKind
from app.persistence.session import Session
from app.persistence.sql import any_of, insert_ignoring_conflicts
from app.services.rows import MemberAccount
from models.schema import accounts

_p = sa.bindparam
_SQLITE_CHUNK = 500
_HOUSE = sa.select(accounts.c.id).where(
    accounts.c.guild_id == _p("house_guild_id"), accounts.c.kind == AccountKind.HOUSE.value
)
_MEMBER = sa.select(accounts.c.id, accounts.c.user_id, accounts.c.balance, accounts.c.last_daily_at).where(
    accounts.c.guild_id == _p("member_guild_id"), accounts.c.user_id == _p("member_user_id")
)


@cache
def _open_members() -> Any:
    """Postgres: lock the house row, then insert the members' empty accounts, in one statement (the house
    for one round trip). Read in this order, so the statements run (and lock) in this order."""
    from sqlalchemy.dialects.postgresql import ARRAY, insert

    guild_id = _p("open_guild_id", type_=sa.BigInteger())
    now = _p("open_now", type_=sa.DateTime(timezone=True))
    wanted = sa.select(sa.func.unnest(_p("open_user_ids", type_=ARRAY(sa.BigInteger()))).label("user_id")).cte("wanted")
    locked = (
        sa.select(accounts.c.id)
        .where(accounts.c.guild_id == guild_id, accounts.c.kind == AccountKind.HOUSE.value)
        .with_for_update()
        .cte("locked")
    )
    opened = (
        insert(accounts)
        .from_select(
            ["guild_id", "kind", "user_id", "balance", "created_at"],
            sa.select(guild_id, sa.literal(AccountKind.MEMBER.value), wanted.c.user_id, sa.literal(0), now).order_by(
                wanted.c.user_id
            ),
        )
        .on_conflict_do_nothing()
        .returning(accounts.c.id, accounts.c.user_id)
        .cte("opened")
    )
    return sa.select(
        sa.select(locked.c.id).scalar_subquery(),
        sa.select(sa.func.array_agg(opened.c.id)).scalar_subquery(),
        sa.select(sa.func.array_agg(opened.c.user_id)).scalar_subquery(),
    )


class SqlAccounts:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def house(self, guild_id: int, *, lock: bool = False) -> int:
        query = _HOUSE.with_for_update() if lock else _HOUSE
        found = await self._session.conn.scalar(query, {"house_guild_id": guild_id})
        if found is None:
            raise NotFound("This server has no house account yet.")
        return int(found)

    async def member(self, guild_id: int, user_id: int) -> MemberAccount | None:
        params = {"member_guild_id": guild_id, "member_user_id": user_id}
        row = (await self._session.conn.execute(_MEMBER, params)).first()
        if row is None:
            return None
        return MemberAccount(id=int(row[0]), user_id=int(row[1]), balance=int(row[2]), last_daily_at=row[3])

    async def open_members(self, guild_id: int, user_ids: Iterable[int]) -> tuple[int, dict[int, int]]:
        session = self._session
        wanted = sorted(set(user_ids))
        if session.dialect == "postgresql":
            params = {"open_guild_id": guild_id, "open_user_ids": wanted, "open_now": session.now}
            house, ids, users = (await session.conn.execute(_open_members(), params)).one()
            if house is None:
                raise NotFound("This server has no house account yet.")
            return int(house), {int(u): int(a) for u, a in zip(users or (), ids or (), strict=True)}
        house = await self.house(guild_id, lock=True)  # SQLite runs one writer at a time: this is a read
        opened = {}
        for user_id in wanted:
            created = await session.conn.scalar(
                insert_ignoring_conflicts(accounts, session.dialect)
                .values(
                    guild_id=guild_id, kind=AccountKind.MEMBER.value, user_id=user_id, balance=0, created_at=session.now
                )
                .returning(accounts.c.id)
            )
            if created is not None:
                opened[user_id] = int(created)
        return house, opened

    async def open_pool(self, guild_id: int, market_id: int) -> int:
        pool = await self._session.conn.scalar(
            sa.insert(accounts)
            .values(
                guild_id=guild_id,
                kind=AccountKind.MARKET.value,
                market_id=market_id,
                balance=0,
                created_at=self._session.now,
            )
            .returning(accounts.c.id)
        )
        return int(pool)

    async def lock(self, account_ids: Iterable[int]) -> dict[int, int]:
        session = self._session
        query = (
            sa.select(accounts.c.id, accounts.c.balance)
            .where(any_of(accounts.c.id, "lock_account_ids", session.dialect))
            .order_by(accounts.c.id)
            .with_for_update()
        )
        wanted = sorted(set(account_ids))
        # One statement on Postgres however many; SQLite caps a statement's parameters (and locks nothing).
        step = max(len(wanted), 1) if session.dialect == "postgresql" else _SQLITE_CHUNK
        balances: dict[int, int] = {}
        for start in range(0, len(wanted), step):
            rows = await session.conn.execute(query, {"lock_account_ids": wanted[start : start + step]})
            balances.update((int(account_id), int(balance)) for account_id, balance in rows)
        return balances

    async def balance(self, account_id: int) -> int:
        found = await self._session.conn.scalar(sa.select(accounts.c.balance).where(accounts.c.id == account_id))
        if found is None:
            raise NotFound(f"account {account_id} does not exist")
        return int(found)

    async def claim_daily(self, account_id: int, now: datetime, period_start: datetime) -> bool:
        claimed = await self._session.conn.scalar(
            sa.update(accounts)
            .where(
                accounts.c.id == account_id,
                sa.or_(accounts.c.last_daily_at.is_(None), accounts.c.last_daily_at <= period_start),
            )
            .values(last_daily_at=now)
            .returning(accounts.c.id)
        )
        return claimed is not None
