"""Building blocks every use case shares: who is acting, guild and account look-ups, ledger postings,
the audit trail and idempotent execution.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel

from app.errors import Forbidden, HunchError, NotFound
from app.persistence.database import Database
from app.persistence.unit_of_work import UnitOfWork, run_transaction
from models.discord import ADMINISTRATOR, MANAGE_GUILD
from models.tables import Guild, accounts, audit_events, guilds, interaction_records, markets, transfers

R = TypeVar("R", bound=BaseModel)
MICRO = 10**6

__all__ = ["accounts", "audit_events", "guilds", "interaction_records", "markets", "transfers"]


@dataclass(frozen=True)
class Actor:
    """The member behind a request, with what Discord told us of their standing."""

    guild_id: int
    user_id: int
    permissions: int = 0
    role_ids: frozenset[int] = field(default_factory=frozenset)
    interaction_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return bool(self.permissions & (ADMINISTRATOR | MANAGE_GUILD))


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only members with Manage Server or Administrator can do that.")


def to_micro(shares: Decimal) -> int:
    return int(shares * MICRO)


def from_micro(micro: int) -> Decimal:
    return Decimal(micro).scaleb(-6)


# -- guilds and accounts ----------------------------------------------------------------------------------


def insert_ignoring_conflicts(uow: UnitOfWork, table: sa.Table) -> Any:
    if uow.is_postgres:
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


async def get_guild(uow: UnitOfWork, guild_id: int) -> sa.RowMapping:
    """The guild's settings, creating the guild and its house account on first contact."""
    row = (await uow.conn.execute(sa.select(guilds).where(guilds.c.id == guild_id))).mappings().first()
    if row is not None:
        return row
    defaults = Guild(id=guild_id, created_at=uow.now).model_dump()
    await uow.conn.execute(insert_ignoring_conflicts(uow, guilds).values(**defaults))
    await uow.conn.execute(
        insert_ignoring_conflicts(uow, accounts).values(guild_id=guild_id, kind="house", balance=0, created_at=uow.now)
    )
    return (await uow.conn.execute(sa.select(guilds).where(guilds.c.id == guild_id))).mappings().one()


async def house_account_id(uow: UnitOfWork, guild_id: int, *, lock: bool = False) -> int:
    """The guild's house account id; with `lock`, its row is locked too (Postgres).

    The lock order every use case follows: market rows first, then the house account, then member
    accounts in id order (a market's pool account is only ever touched under its market's lock).
    """
    query = sa.select(accounts.c.id).where(accounts.c.guild_id == guild_id, accounts.c.kind == "house")
    found = await uow.conn.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound("This server has no house account yet.")
    return int(found)


async def lock_house(uow: UnitOfWork, guild_id: int) -> int:
    return await house_account_id(uow, guild_id, lock=True)


async def balance_of(uow: UnitOfWork, account_id: int) -> int:
    balance = await uow.conn.scalar(sa.select(accounts.c.balance).where(accounts.c.id == account_id))
    if balance is None:
        raise NotFound(f"account {account_id} does not exist")
    return int(balance)


async def get_member(uow: UnitOfWork, guild_id: int, user_id: int) -> sa.RowMapping | None:
    query = sa.select(accounts).where(accounts.c.guild_id == guild_id, accounts.c.user_id == user_id)
    return (await uow.conn.execute(query)).mappings().first()


async def get_or_create_member(
    uow: UnitOfWork, guild: Mapping[Any, Any], user_id: int, interaction_id: int | None
) -> sa.RowMapping:
    """A member's account, opened on first touch with the guild's starting balance, granted by the house."""
    row = await get_member(uow, guild["id"], user_id)
    if row is not None:
        return row
    # The house pays the grant, so lock it before the new row: every use case takes the house account
    # before any member's (see `lock_house`), or two of them could each wait for the other.
    house = await lock_house(uow, guild["id"])
    created = await uow.conn.scalar(
        insert_ignoring_conflicts(uow, accounts)
        .values(guild_id=guild["id"], kind="member", user_id=user_id, balance=0, created_at=uow.now)
        .returning(accounts.c.id)
    )
    if created is not None and guild["starting_balance"] > 0:
        grant = Posting(house, int(created), guild["starting_balance"], "starting_grant")
        post(uow, guild["id"], [grant], interaction_id)
        await uow.flush()
    row = await get_member(uow, guild["id"], user_id)
    assert row is not None
    return row


# -- the ledger -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Posting:
    debit: int  # the account the points leave
    credit: int  # the account the points arrive in
    amount: int
    reason: str
    market_id: int | None = None


def post(uow: UnitOfWork, guild_id: int, postings: Iterable[Posting], interaction_id: int | None) -> None:
    """Stage the transfers and the balance changes they imply (one UPDATE per account touched)."""
    rows = []
    deltas: dict[int, int] = defaultdict(int)
    for p in postings:
        if p.amount <= 0:
            continue
        deltas[p.debit] -= p.amount
        deltas[p.credit] += p.amount
        rows.append(
            {
                "guild_id": guild_id,
                "debit_account_id": p.debit,
                "credit_account_id": p.credit,
                "amount": p.amount,
                "reason": p.reason,
                "market_id": p.market_id,
                "interaction_id": interaction_id,
                "created_at": uow.now,
            }
        )
    if not rows:
        return
    for account_id, delta in sorted(deltas.items()):
        if delta:
            uow.stage(sa.update(accounts).where(accounts.c.id == account_id).values(balance=accounts.c.balance + delta))
    # One single-row INSERT each: SQLAlchemy cannot cache the compiled form of a multi-row VALUES.
    uow.stage(*(sa.insert(transfers).values(**row) for row in rows))


def audit(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    market_id: int | None = None,
    **details: Any,
) -> None:
    uow.stage(
        sa.insert(audit_events).values(
            guild_id=actor.guild_id,
            actor_id=actor.user_id,
            action=action,
            market_id=market_id,
            details=details,
            interaction_id=actor.interaction_id,
            created_at=uow.now,
        )
    )


class AccountMissing(Exception):
    """A trade needs a member's account that does not exist yet.

    The trading desk opens it (with the starting grant, see `open_member_accounts`) in a short transaction
    of its own and queues the trade again, so a busy market's transaction never also holds the house row.
    """

    def __init__(self, guild_id: int, user_id: int) -> None:
        super().__init__(f"no account for member {user_id} in guild {guild_id}")
        self.guild_id = guild_id
        self.user_id = user_id


async def open_member_accounts(uow: UnitOfWork, guild_id: int, members: Iterable[tuple[int, int | None]]) -> None:
    """Open the accounts of members (user id, interaction id) who have none, each with the starting grant
    the house pays, and commit."""
    guild = await get_guild(uow, guild_id)
    wanted = sorted(dict(members).items())
    if uow.is_postgres:
        # One statement for them all: the house row is locked for one round trip and the commit.
        await uow.conn.execute(
            _OPEN_ACCOUNTS,
            {
                "open_guild_id": guild_id,
                "open_user_ids": [user_id for user_id, _ in wanted],
                "open_interaction_ids": [interaction_id for _, interaction_id in wanted],
                "open_grant": int(guild["starting_balance"]),
                "open_now": uow.now,
            },
        )
    else:
        for user_id, interaction_id in wanted:
            await get_or_create_member(uow, guild, user_id, interaction_id)
    await uow.commit()


def _open_accounts_statement() -> Any:
    """Postgres: open members' accounts holding the starting grant, debit the house and record one
    transfer per member, in one statement (members who already have an account are left alone)."""
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    p = sa.bindparam
    guild_id = p("open_guild_id", type_=sa.BigInteger())
    grant = p("open_grant", type_=sa.BigInteger())
    now = p("open_now", type_=sa.DateTime(timezone=True))
    wanted = sa.select(
        sa.func.unnest(p("open_user_ids", type_=ARRAY(sa.BigInteger()))).label("user_id"),
        sa.func.unnest(p("open_interaction_ids", type_=ARRAY(sa.BigInteger()))).label("interaction_id"),
    ).cte("wanted")
    # The house row first, as in every use case (`lock_house`): member rows are only inserted under it.
    locked = (
        sa.select(accounts.c.id)
        .where(accounts.c.guild_id == guild_id, accounts.c.kind == "house")
        .with_for_update()
        .cte("locked")
    )
    opened = (
        pg_insert(accounts)
        .from_select(
            ["guild_id", "kind", "user_id", "balance", "created_at"],
            sa.select(guild_id, sa.literal("member"), wanted.c.user_id, grant, now).order_by(wanted.c.user_id),
        )
        .on_conflict_do_nothing()
        .returning(accounts.c.id, accounts.c.user_id)
        .cte("opened")
    )
    house = (
        sa.update(accounts)
        .where(accounts.c.id == sa.select(locked.c.id).scalar_subquery(), sa.exists(sa.select(opened.c.id)), grant > 0)
        .values(balance=accounts.c.balance - grant * sa.select(sa.func.count()).select_from(opened).scalar_subquery())
        .returning(accounts.c.id)
        .cte("house")
    )
    granted = (
        sa.insert(transfers)
        .from_select(
            ["guild_id", "debit_account_id", "credit_account_id", "amount", "reason", "interaction_id", "created_at"],
            sa.select(
                guild_id,
                house.c.id,
                opened.c.id,
                grant,
                sa.literal_column("'starting_grant'"),
                wanted.c.interaction_id,
                now,
            ).select_from(opened.join(wanted, wanted.c.user_id == opened.c.user_id).join(house, sa.true())),
        )
        .returning(transfers.c.id)
        .cte("granted")
    )
    # Read in this order, so the statements run (and lock) in this order.
    return sa.select(
        sa.select(sa.func.count()).select_from(locked).scalar_subquery(),
        sa.select(sa.func.count()).select_from(opened).scalar_subquery(),
        sa.select(sa.func.count()).select_from(house).scalar_subquery(),
        sa.select(sa.func.count()).select_from(granted).scalar_subquery(),
    )


_OPEN_ACCOUNTS = _open_accounts_statement()


# -- idempotent execution ---------------------------------------------------------------------------------

_RECORDED = sa.select(interaction_records.c.result).where(interaction_records.c.id == sa.bindparam("record_id"))

_RECORD_INSERT = sa.insert(interaction_records).values(
    id=sa.bindparam("record_id"),
    guild_id=sa.bindparam("record_guild_id"),
    user_id=sa.bindparam("record_user_id"),
    action=sa.bindparam("record_action"),
    result=sa.bindparam("record_result", type_=interaction_records.c.result.type),
    created_at=sa.bindparam("record_now"),
)


async def execute(
    database: Database,
    actor: Actor,
    action: str,
    result_type: type[R],
    work: Callable[[UnitOfWork], Awaitable[R]],
    *,
    clock: Callable[..., Any] | None = None,
) -> R:
    """Run a state-changing use case once per Discord interaction.

    The outcome is recorded under the interaction id in the same transaction as its effects, so a
    redelivered interaction gets the recorded answer and applies nothing again, also when the copies
    race: a copy refused by the use case (the first spent the balance it needed) looks again, after the
    use case's locks, for the answer the first recorded.
    """
    key = actor.interaction_id

    async def attempt(uow: UnitOfWork) -> R:
        # One read before any lock: was this interaction already applied?
        stored = await uow.conn.scalar(_RECORDED, {"record_id": key or 0}) if key is not None else None
        if stored is not None:
            return result_type.model_validate(stored)
        try:
            result = await work(uow)
        except HunchError:
            stored = await uow.conn.scalar(_RECORDED, {"record_id": key}) if key is not None else None
            if stored is not None:
                return result_type.model_validate(stored)
            raise
        if key is not None:
            uow.stage_prepared(
                _RECORD_INSERT,
                {
                    "record_id": key,
                    "record_guild_id": actor.guild_id,
                    "record_user_id": actor.user_id,
                    "record_action": action,
                    "record_result": result.model_dump(mode="json"),
                    "record_now": uow.now,
                },
            )
        await uow.commit()
        return result

    kwargs = {"clock": clock} if clock is not None else {}
    return await run_transaction(database, attempt, retry_integrity=key is not None, **kwargs)


async def read(database: Database, work: Callable[[UnitOfWork], Awaitable[Any]], **kwargs: Any) -> Any:
    """Run a read-only use case (nothing is committed)."""
    return await run_transaction(database, work, **kwargs)
