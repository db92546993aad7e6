"""The trading desk's transactions on the driver (`app/persistence/driver.py`), on the real Postgres: the same
rows, errors and pool as through SQLAlchemy, and what a lost connection means, said as honestly."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import sqlalchemy as sa
from nacl.signing import SigningKey
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.domain.actor import Actor
from app.domain.errors import OutcomeUnknown, Unavailable
from app.persistence.database import Database
from app.persistence.driver import DriverConnection
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services.markets import CreateMarket
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from app.services.verify import verify_ledger
from models.tables import guilds, interaction_records, markets
from tests.conftest import PG_URL, make_settings, truncate_all
from tests.support.throttle import no_throttle

GUILD = 900000000000000003
CREATOR, ALICE = 21, 22
_ids = itertools.count(1_500_000_000_000_000_000)


def _actor(user: int) -> Actor:
    return Actor(GUILD, user, interaction_id=next(_ids), is_manager=True)


async def _market(database: Database) -> UseCases:
    transactions = Transactions(database)
    use_cases = UseCases(transactions, TradingDesk(transactions), no_throttle)
    await use_cases.create_market(_actor(CREATOR), CreateMarket(question="Driver?", outcomes=["Yes", "No"]))
    return use_cases


async def _on_driver(database: Database, work: Any) -> Any:
    return await Transactions(database).run(work, hot=True)


async def test_the_desks_trades_and_openings_run_on_the_driver(pg_database: Database) -> None:
    use_cases = await _market(pg_database)
    through_sqlalchemy: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        through_sqlalchemy.append(statement)

    event.listen(pg_database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        receipt = await use_cases.buy(_actor(ALICE), 1, "Yes", 10)  # Alice's first: her account opened too
        again = await use_cases.buy(_actor(ALICE), 1, "No", 5)
    finally:
        event.remove(pg_database.engine.sync_engine, "before_cursor_execute", seen)
    assert receipt.points == 10 and again.points == 5
    assert through_sqlalchemy == []  # every statement of both went on the driver
    assert (await use_cases.balance(GUILD, ALICE)).balance == 1000 - 15
    assert await Transactions(pg_database).run(verify_ledger) == []


async def test_rows_read_by_name_position_and_attribute_with_sqlalchemys_types(pg_database: Database) -> None:
    await _market(pg_database)
    query = sa.select(markets.c.id, markets.c.outcomes, markets.c.created_at).where(markets.c.guild_id == GUILD)
    renamed = sa.update(markets).where(markets.c.guild_id == GUILD).values(outcomes=sa.bindparam("new", type_=sa.JSON))

    async def work(uow: UnitOfWork) -> tuple[Any, ...]:
        assert isinstance(uow.conn, DriverConnection)
        row = (await uow.conn.execute(query)).first()
        changed = await uow.conn.execute(
            renamed, {"new": ["Yes!", "No!"]}
        )  # a JSON parameter, bound as SQLAlchemy does
        after = (await uow.conn.execute(query)).mappings().one()
        await uow.commit()
        return row, changed.rowcount, after

    row, rowcount, after = await _on_driver(pg_database, work)
    assert row.outcomes == row["outcomes"] == row[1] == ["Yes", "No"]
    assert row.created_at.tzinfo is not None and rowcount == 1
    assert after["outcomes"] == ["Yes!", "No!"] and after["id"] == row.id


async def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_the_transaction_changes_nothing(
    pg_database: Database,
) -> None:
    await _market(pg_database)
    record = sa.insert(interaction_records).values(
        id=sa.bindparam("iid"), guild_id=GUILD, user_id=ALICE, action="test", result={}, created_at=sa.func.now()
    )
    iid = next(_ids)
    await _on_driver(pg_database, lambda uow: _insert_and_commit(uow, record, iid))

    async def twice(uow: UnitOfWork) -> None:
        await uow.conn.execute(sa.update(guilds).where(guilds.c.id == GUILD).values(currency_name="gems"))
        await uow.conn.execute(record, {"iid": iid})

    with pytest.raises(IntegrityError) as raised:
        await _on_driver(pg_database, twice)
    assert getattr(raised.value.orig, "sqlstate", None) == "23505"
    names = await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(guilds.c.currency_name)))
    assert names != "gems"  # rolled back with the failed statement
    await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(1)))  # the connection is fine after it


async def _insert_and_commit(uow: UnitOfWork, statement: Any, iid: int) -> None:
    await uow.conn.execute(statement, {"iid": iid})
    await uow.commit()


async def _terminate(database: Database, pid: int) -> None:
    """Ends a backend from a connection of its own (not the pool's, whose connections may be the dead ones)."""
    killer = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        await killer.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await killer.close()
    await asyncio.sleep(0.05)


async def test_a_connection_lost_mid_transaction_is_unavailable_and_the_pool_opens_another(
    pg_database: Database,
) -> None:
    await _market(pg_database)
    pids: list[int] = []

    async def work(uow: UnitOfWork) -> None:
        pid = int(await uow.conn.scalar(sa.select(sa.func.pg_backend_pid())))
        pids.append(pid)
        await uow.conn.execute(sa.update(guilds).where(guilds.c.id == GUILD).values(currency_name="lost"))
        if len(pids) == 1:
            await _terminate(pg_database, pid)
        await uow.conn.execute(sa.select(1))

    with pytest.raises(Unavailable, match="nothing was changed"):
        await Transactions(pg_database).run(work, hot=True)
    fresh = await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(sa.func.pg_backend_pid())))
    assert fresh != pids[0]  # the dead connection was dropped from the pool, not handed out again
    names = await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(guilds.c.currency_name)))
    assert names != "lost"


async def test_a_connection_lost_at_commit_is_an_unknown_outcome(pg_database: Database) -> None:
    await _market(pg_database)

    async def work(uow: UnitOfWork) -> None:
        pid = int(await uow.conn.scalar(sa.select(sa.func.pg_backend_pid())))
        await _terminate(pg_database, pid)
        await uow.commit()

    with pytest.raises(OutcomeUnknown):
        await Transactions(pg_database).run(work, hot=True)


async def _state_of(pid: int) -> str | None:
    """A backend's state as another connection of its own (not the pool's) sees it."""
    observer = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        state: str | None = await observer.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid)
        return state
    finally:
        await observer.close()


async def test_a_connection_goes_back_to_the_pool_with_its_unfinished_transaction_rolled_back(
    pg_database: Database,
) -> None:
    await _market(pg_database)
    conn = DriverConnection(*await _checked_out(pg_database))
    pid = int(await conn.scalar(sa.select(sa.func.pg_backend_pid())))
    await conn.execute(sa.update(guilds).where(guilds.c.id == GUILD).values(currency_name="kept?"))
    assert await _state_of(pid) == "idle in transaction"
    await conn.close()  # no commit, no rollback asked for
    assert await _state_of(pid) == "idle"  # back in the pool, outside any transaction
    names = await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(guilds.c.currency_name)))
    assert names != "kept?"


async def _checked_out(database: Database) -> tuple[Any, Any, None]:
    conn = await database.engine.connect()
    return conn, await conn.get_raw_connection(), None


async def test_a_cancelled_statement_drops_its_connection_instead_of_handing_it_out_again(
    pg_database: Database,
) -> None:
    await _market(pg_database)
    pids: list[int] = []

    async def slow(uow: UnitOfWork) -> None:
        pids.append(int(await uow.conn.scalar(sa.select(sa.func.pg_backend_pid()))))
        await uow.conn.execute(sa.update(guilds).where(guilds.c.id == GUILD).values(currency_name="cancelled"))
        await uow.conn.execute(sa.select(sa.func.pg_sleep(5)))

    task = asyncio.create_task(Transactions(pg_database).run(slow, hot=True))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)
    assert await _state_of(pids[0]) is None  # the connection was closed, not kept in the pool mid-statement

    async def rename(uow: UnitOfWork) -> int:
        await uow.conn.execute(sa.update(guilds).where(guilds.c.id == GUILD).values(currency_name="after"))
        await uow.commit()
        return int(await _on_driver(pg_database, lambda other: other.conn.scalar(sa.select(sa.func.pg_backend_pid()))))

    assert await _on_driver(pg_database, rename) != pids[0]
    names = await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(guilds.c.currency_name)))
    assert names == "after"  # committed for real (a connection left mid-BEGIN would have made it a savepoint)


@pytest_asyncio.fixture
async def production(pg_schema: str, signing_key: SigningKey) -> AsyncIterator[Database]:
    """The production engine (`make_engine`: its pool, and a ping only for a connection idle 10 s) on this
    session's schema."""
    database = Database(make_settings(PG_URL, signing_key.verify_key.encode().hex(), DATABASE_POOL_SIZE=4))

    @event.listens_for(database.engine.sync_engine, "connect")
    def _schema(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.run_async(lambda conn: conn.execute(f'SET search_path TO "{pg_schema}"'))

    await truncate_all(database.engine)
    try:
        yield database
    finally:
        await database.dispose()


async def test_a_lost_connection_retires_every_connection_the_pool_opened_before_it(production: Database) -> None:
    pg_database = production
    await _market(pg_database)
    held = [await pg_database.engine.connect() for _ in range(3)]  # three pooled connections, opened now
    pids = [int(await conn.scalar(sa.select(sa.func.pg_backend_pid()))) for conn in held]
    for conn in held:
        await conn.close()
    for pid in pids:  # the server restarts, as far as these connections can tell
        await _terminate(pg_database, pid)
    with pytest.raises(Unavailable):
        await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(1)))
    # The next transactions get new connections: the other dead ones are not handed out one failure at a time.
    for _ in range(3):
        pid = await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(sa.func.pg_backend_pid())))
        assert pid not in pids


async def test_statements_on_the_driver_are_timed_like_any_other(pg_database: Database) -> None:
    slow = pg_database.slow_statements
    assert slow is not None
    threshold, slow.threshold = slow.threshold, 1e-9
    try:
        await _on_driver(pg_database, lambda uow: uow.conn.scalar(sa.select(sa.func.pg_sleep(0.001))))
    finally:
        slow.threshold = threshold
    assert any("pg_sleep" in shape for shape in slow.logged)


async def test_an_error_the_driver_raises_is_a_dbapi_error_with_its_sqlstate(pg_database: Database) -> None:
    with pytest.raises(DBAPIError) as raised:
        await _on_driver(pg_database, lambda uow: uow.conn.execute(sa.text("SELECT 1/0")))
    assert getattr(raised.value.orig, "sqlstate", None) == "22012" and not raised.value.connection_invalidated
