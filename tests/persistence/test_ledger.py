"""The write path of the books on Postgres and SQLite (`app/persistence/ledger.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.ledger import Transfer, TransferReason
from app.persistence.database import Database
from app.persistence.unit_of_work import UnitOfWork, run_transaction
from app.services.verify import verify_ledger
from models.tables import accounts, audit_events, interaction_records, transfers

GUILD = 900000000000000001


class Flag(BaseModel):
    ok: bool


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs."""
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)


async def _members(database: Database, count: int) -> tuple[int, list[int]]:
    """The guild's house and `count` members' accounts (empty), opened through the repositories."""

    async def work(uow: UnitOfWork) -> tuple[int, list[int]]:
        await uow.guilds.get(GUILD)
        house, opened = await uow.accounts.open_members(GUILD, range(1, count + 1))
        await uow.commit()
        return house, [opened[u] for u in range(1, count + 1)]

    return await run_transaction(database, work)


async def test_thousands_of_transfers_post_exactly_in_one_statement_on_postgres(database: Database) -> None:
    house, members = await _members(database, 3000)
    actor = Actor(GUILD, 0, interaction_id=77)

    async def grant(uow: UnitOfWork) -> None:
        moves = [Transfer(house, m, n + 1, TransferReason.ADMIN_GRANT) for n, m in enumerate(members)]
        moves.append(Transfer(house, members[0], 0, TransferReason.ADMIN_GRANT))  # nothing moves: skipped
        uow.ledger.post(actor, moves)
        uow.ledger.audit(actor, AuditAction.GRANT, amount=1)
        uow.ledger.record(actor, "test", Flag(ok=True))
        with statements(database) as sent:
            await uow.flush()
        if database.is_postgres:
            assert len(sent) == 1  # balances, transfers, audit and the record in one round trip
        await uow.commit()

    await run_transaction(database, grant)

    async def check(uow: UnitOfWork) -> None:
        balances = dict((await uow.conn.execute(sa.select(accounts.c.id, accounts.c.balance))).all())
        assert [balances[m] for m in members] == list(range(1, 3001))
        assert balances[house] == -sum(range(1, 3001))
        assert await uow.conn.scalar(sa.select(sa.func.count()).select_from(transfers)) == 3000
        row = (await uow.conn.execute(sa.select(transfers).limit(1))).mappings().one()
        assert (row["interaction_id"], row["reason"], row["guild_id"]) == (77, "admin_grant", GUILD)
        assert await uow.conn.scalar(sa.select(audit_events.c.details)) == {"amount": 1}
        assert await uow.conn.scalar(sa.select(interaction_records.c.result)) == {"ok": True}
        assert await verify_ledger(uow) == []

    await run_transaction(database, check)


async def test_one_interaction_is_recorded_once(database: Database) -> None:
    await _members(database, 1)
    actor = Actor(GUILD, 1, interaction_id=5)

    async def record(uow: UnitOfWork) -> None:
        uow.ledger.record(actor, "test", Flag(ok=False))
        await uow.commit()

    await run_transaction(database, record)
    with pytest.raises(IntegrityError):
        await run_transaction(database, record)


async def test_nothing_staged_is_kept_without_a_commit(database: Database) -> None:
    house, [member] = await _members(database, 1)

    async def forget(uow: UnitOfWork) -> None:
        uow.ledger.post(Actor(GUILD, 1), [Transfer(house, member, 5, TransferReason.GIFT)])
        await uow.flush()

    await run_transaction(database, forget)

    async def count(uow: UnitOfWork) -> int:
        return int(await uow.conn.scalar(sa.select(sa.func.count()).select_from(transfers)) or 0)

    assert await run_transaction(database, count) == 0
