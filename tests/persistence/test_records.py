"""Interaction records (`app/persistence/records.py`): found by id, and forgotten after the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from pydantic import BaseModel

from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork, run_transaction
from models.tables import interaction_records

T0 = datetime(2026, 3, 1, tzinfo=UTC)


class Answer(BaseModel):
    n: int


async def _record(database: Database, interaction_id: int, at: datetime) -> None:
    async def record(uow: UnitOfWork) -> None:
        uow.ledger.record(Actor(1, 2, interaction_id=interaction_id), "test", Answer(n=interaction_id))
        await uow.commit()

    await run_transaction(database, record, clock=lambda: at)


async def test_records_are_found_and_old_ones_purged_in_batches(database: Database) -> None:
    for n in range(1, 8):
        await _record(database, n, T0 + timedelta(hours=n))
    transactions = Transactions(database)

    async def find(uow: UnitOfWork) -> dict[int, dict[str, object]]:
        return await uow.records.find([1, 7, 99])

    assert await transactions.run(find) == {1: {"n": 1}, 7: {"n": 7}}

    async def purge(uow: UnitOfWork) -> int:
        purged = await uow.records.purge(T0 + timedelta(hours=5, minutes=30), 3)
        await uow.commit()
        return purged

    assert [await transactions.run(purge) for _ in range(3)] == [3, 2, 0]  # the oldest first, in batches

    async def left(uow: UnitOfWork) -> list[int]:
        return sorted(int(i) for (i,) in await uow.conn.execute(sa.select(interaction_records.c.id)))

    assert await transactions.run(left) == [6, 7]


async def test_the_records_of_the_workers_deferred_work_are_never_purged(database: Database) -> None:
    # A deferred settlement or season start is recorded under its event's work key (negative): an operator may
    # retry that event days later, and the record is all that stops the work applying twice.
    work_key = -123_456_789_012_345_678
    for key, at in ((work_key, T0), (1, T0), (2, T0 + timedelta(hours=1))):
        await _record(database, key, at)
    transactions = Transactions(database)

    async def purge(uow: UnitOfWork) -> int:
        purged = await uow.records.purge(T0 + timedelta(days=400), 10)
        await uow.commit()
        return purged

    assert await transactions.run(purge) == 2

    async def find(uow: UnitOfWork) -> dict[int, dict[str, object]]:
        return await uow.records.find([work_key, 1, 2])

    assert await transactions.run(find) == {work_key: {"n": work_key}}
