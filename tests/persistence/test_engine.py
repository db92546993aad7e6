"""The engine and its connections for asyncio (`app/persistence/engine.py`), on both databases: transactions
that commit and roll back as SQLAlchemy's `AsyncConnection`'s do, a connection that always goes back to its pool
(even when the task is cancelled on the way). That a first command imports no ORM is checked on the packaged
artifact (`tests/deploy`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
import sqlalchemy as sa

from app.persistence.engine import Engine, create_engine
from tests.conftest import PG_URL, pg_engine, requires_postgres


@pytest_asyncio.fixture(params=["postgres", "sqlite"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("TEST_DATABASE_URL is not set (needs a real Postgres)")
        made = pg_engine(request.getfixturevalue("pg_schema"), pool_size=2, max_overflow=0)
    else:
        made = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'engine.sqlite3'}")
    async with made.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE engine_probe (n INTEGER NOT NULL)"))
    try:
        yield made
    finally:
        async with made.begin() as conn:
            await conn.execute(sa.text("DROP TABLE engine_probe"))
        await made.dispose()


async def _probes(engine: Engine) -> list[int]:
    async with engine.connect() as conn:
        return list((await conn.scalars(sa.text("SELECT n FROM engine_probe ORDER BY n"))).all())


async def test_begin_commits_when_the_block_ends_and_rolls_back_when_it_raises(engine: Engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO engine_probe (n) VALUES (:n)"), [{"n": 1}, {"n": 2}])
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(sa.text("INSERT INTO engine_probe (n) VALUES (3)"))
            raise RuntimeError("the block failed")
    assert await _probes(engine) == [1, 2]


async def test_a_connection_commits_and_rolls_back_what_it_began(engine: Engine) -> None:
    conn = await engine.connect()
    try:
        await conn.begin()
        assert conn.in_transaction()
        await conn.execute(sa.text("INSERT INTO engine_probe (n) VALUES (1)"))
        await conn.commit()
        assert not conn.in_transaction()
        await conn.begin()
        await conn.execute(sa.text("INSERT INTO engine_probe (n) VALUES (2)"))
        await conn.rollback()
        assert await conn.scalar(sa.text("SELECT count(*) FROM engine_probe")) == 1
    finally:
        await conn.close()
    assert await _probes(engine) == [1]


async def test_closing_rolls_back_what_was_left_open(engine: Engine) -> None:
    async with engine.connect() as conn:
        await conn.begin()
        await conn.execute(sa.text("INSERT INTO engine_probe (n) VALUES (1)"))
    assert await _probes(engine) == []


async def test_run_sync_and_the_raw_connection(engine: Engine) -> None:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None  # the driver's own connection, while it is checked out
    assert "engine_probe" in names


@requires_postgres
async def test_a_cancelled_task_still_returns_its_connection_to_the_pool(pg_schema: str) -> None:
    engine = pg_engine(pg_schema, pool_size=1, max_overflow=0, pool_timeout=2)
    entered = asyncio.Event()

    async def hold() -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            entered.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(hold())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    try:
        async with engine.connect() as conn:  # the pool's one connection: back, or this times out
            assert await conn.scalar(sa.text("SELECT 2")) == 2
    finally:
        await engine.dispose()


def test_a_driver_that_is_not_async_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an asyncio driver"):
        create_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}")


async def test_a_server_side_cursor_is_refused_and_the_connection_still_works(engine: Engine) -> None:
    async with engine.connect() as conn:
        with pytest.raises(sa.exc.InvalidRequestError, match="stream_results"):
            await conn.execute(sa.text("SELECT 1"), execution_options={"stream_results": True})
        assert await conn.scalar(sa.text("SELECT 2")) == 2


async def test_a_result_is_read_in_full_after_its_cursor_is_closed(engine: Engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO engine_probe (n) VALUES (:n)"), [{"n": n} for n in range(3)])
        result = await conn.execute(sa.text("SELECT n FROM engine_probe ORDER BY n"))
        assert result.keys() == ["n"]
        assert [row.n for row in result] == [0, 1, 2]
