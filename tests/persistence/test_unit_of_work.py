"""One transaction per unit of work (`app/persistence/unit_of_work.py`): what a lost connection means, said
honestly, and retried safely."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app import telemetry
from app.domain.actor import Actor
from app.domain.errors import OutcomeUnknown, Unavailable
from app.persistence.database import Database
from app.persistence.engine import Connection
from app.persistence.unit_of_work import Transactions, UnitOfWork, run_transaction
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from app.services.verify import verify_ledger
from models.tables import transfers
from tests.monitoring.promql import documented_row
from tests.support.throttle import no_throttle

GUILD = 900000000000000001
ALICE, BOB = 11, 12
_ids = itertools.count(1_400_000_000_000_000_000)


def _use_cases(database: Database) -> UseCases:
    transactions = Transactions(database)
    return UseCases(transactions, TradingDesk(transactions), no_throttle)


async def _gifts(database: Database) -> int:
    async def count(uow: UnitOfWork) -> int:
        query = sa.select(sa.func.count()).select_from(transfers).where(transfers.c.reason == "gift")
        return int(await uow.conn.scalar(query) or 0)

    return await Transactions(database).run(count)


def _drop_the_connection_during_commit(monkeypatch: pytest.MonkeyPatch, *, after_committing: bool) -> list[int]:
    """The next COMMIT's connection is lost: after the server committed, or before it could."""
    real_commit = Connection.commit
    dropped: list[int] = []

    async def commit(self: Connection) -> None:
        if not dropped:
            dropped.append(1)
            if after_committing:
                await real_commit(self)
            else:
                await self.rollback()
            raise ConnectionResetError("connection reset by peer")
        await real_commit(self)

    monkeypatch.setattr(Connection, "commit", commit)
    return dropped


@pytest.mark.parametrize("committed", [True, False], ids=["the-commit-landed", "the-commit-was-lost"])
async def test_a_connection_lost_during_commit_is_an_unknown_outcome_and_the_redelivery_tells(
    database: Database, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    use_cases = _use_cases(database)
    await use_cases.balance(GUILD, ALICE)  # nothing to commit: the connection is dropped at the next COMMIT
    gift = Actor(GUILD, ALICE, interaction_id=next(_ids))
    await use_cases.give(Actor(GUILD, BOB, interaction_id=next(_ids)), ALICE, 1)  # both accounts open first
    dropped = _drop_the_connection_during_commit(monkeypatch, after_committing=committed)
    with pytest.raises(OutcomeUnknown) as unknown:
        await use_cases.give(gift, BOB, 100)
    assert dropped and "can't tell yet whether it went through" in unknown.value.message
    assert "Nothing was changed" not in unknown.value.message
    again = await use_cases.give(gift, BOB, 100)  # the same interaction, delivered again
    assert again.amount == 100
    assert await _gifts(database) == 2  # Bob's first gift, and this one exactly once
    assert (await use_cases.balance(GUILD, BOB)).balance == 1000 - 1 + 100
    assert await Transactions(database).run(verify_ledger) == []


async def test_a_connection_lost_before_commit_changes_nothing_and_says_so(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_cases = _use_cases(database)
    await use_cases.give(Actor(GUILD, BOB, interaction_id=next(_ids)), ALICE, 1)
    real_execute = Connection.execute
    lost: list[int] = []

    async def execute(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if "FOR UPDATE" in str(statement) and not lost:
            lost.append(1)
            raise ConnectionResetError("connection reset by peer")
        return await real_execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(Connection, "execute", execute)
    gift = Actor(GUILD, ALICE, interaction_id=next(_ids))
    with pytest.raises(Unavailable, match="nothing was changed"):
        await use_cases.give(gift, BOB, 100)
    assert lost and await _gifts(database) == 1
    assert (await use_cases.give(gift, BOB, 100)).amount == 100  # trying again applies it, once
    assert await _gifts(database) == 2


async def test_a_commit_that_need_not_wait_for_the_disk_relaxes_only_its_own_transaction(
    pg_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Postgres `commit(wait_for_disk=False)` turns synchronous_commit off for that transaction alone, inside
    the flush's one statement when it has writes (no extra round trip) and by itself when it has none."""
    from app.services.accounts import open_accounts

    real_commit = Connection.commit
    seen: list[str] = []

    async def commit(self: Connection) -> None:
        seen.append(str(await self.scalar(sa.text("SHOW synchronous_commit"))))
        await real_commit(self)

    monkeypatch.setattr(Connection, "commit", commit)
    transactions = Transactions(pg_database)

    def opening(user_id: int, wait_for_disk: bool) -> Any:
        async def work(uow: UnitOfWork) -> None:
            await open_accounts(uow, await uow.guilds.get(GUILD), {user_id: None}, flush=False)  # the grant's writes
            await uow.commit(wait_for_disk=wait_for_disk)

        return work

    async def nothing(uow: UnitOfWork) -> None:
        await uow.commit(wait_for_disk=False)

    await transactions.run(opening(11, False))
    await transactions.run(opening(12, True))
    await transactions.run(nothing)
    await transactions.run(opening(13, True))
    assert seen == ["off", "on", "off", "on"]
    assert await transactions.run(verify_ledger) == []


class _Kept:
    def __init__(self) -> None:
        self.labels: dict[str, set[str]] = {}

    def record(self, metric: telemetry.Metric, value: float, labels: Mapping[str, str]) -> None:
        self.labels.setdefault(metric.name, set()).update(labels.values())


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _fails_once(error: Exception) -> Callable[[UnitOfWork], Awaitable[None]]:
    failed: list[Exception] = []

    async def work(uow: UnitOfWork) -> None:
        await uow.conn.execute(sa.text("SELECT 1"))
        if not failed:
            failed.append(error)
            raise error
        await uow.commit()

    return work


async def test_the_retries_and_errors_the_readme_documents_are_those_every_transaction_records(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = _Kept()
    telemetry.install(kept)
    for error in (
        DBAPIError("UPDATE", {}, _PgError("40001")),  # serialization failure
        DBAPIError("UPDATE", {}, _PgError("40P01")),  # deadlock
        DBAPIError("UPDATE", {}, _PgError("55P03")),  # lock not available
        OperationalError("UPDATE", {}, Exception("database is locked")),  # SQLite's busy lock
    ):
        await run_transaction(database, _fails_once(error))
    await run_transaction(
        database, _fails_once(IntegrityError("INSERT", {}, Exception("duplicate key"))), retry_integrity=True
    )
    lost = DBAPIError("UPDATE", {}, ConnectionResetError("connection reset"), connection_invalidated=True)
    with pytest.raises(Unavailable):  # a lost connection is never retried
        await run_transaction(database, _fails_once(lost))
    with pytest.raises(DBAPIError):
        await run_transaction(database, _fails_once(DBAPIError("SELECT", {}, _PgError("42P01"))))
    _drop_the_connection_during_commit(monkeypatch, after_committing=False)
    with pytest.raises(OutcomeUnknown):
        await run_transaction(database, _commits)

    retries = kept.labels["hunch_db_transaction_retries_total"]
    assert retries == {"serialization", "deadlock"}
    assert documented_row("hunch_db_transaction_retries_total")[1] == retries
    errors = kept.labels["hunch_db_errors_total"]
    assert errors == {"unavailable", "other", "commit_unknown"}
    meaning, kinds = documented_row("hunch_db_errors_total")
    assert kinds == errors
    # None of these transactions answered an interaction: the README must not say only replies are counted.
    assert "worker" in meaning and "scheduler" in meaning and "reached a reply" not in meaning


async def _commits(uow: UnitOfWork) -> None:
    await uow.conn.execute(sa.text("SELECT 1"))
    await uow.commit()
