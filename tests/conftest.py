"""Shared fixtures: a migrated database per test (Postgres from TEST_DATABASE_URL, or SQLite), the app
wired to it, and a Discord-like signer."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from app.persistence.database import Database
from app.persistence.engine import Engine, create_engine
from app.persistence.migrations import upgrade_connection
from app.settings import Settings, normalise_database_url
from models.tables import metadata
from tests.support.signing import Signer

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
requires_postgres = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set (needs a real Postgres)")
TABLES = [t.name for t in reversed(metadata.sorted_tables)]


@pytest.fixture(autouse=True)
def no_exporters_left_behind() -> Iterator[None]:
    """A test that plugs an exporter or a tracer into `app.telemetry` (importing `app.lambda_handler` does)
    leaves none behind for the next; nor the collector off (importing `app.lambda_handler` turns it off until
    its first invocation ends)."""
    import gc

    from app import telemetry

    recorder, tracer = telemetry.current_recorder(), telemetry.current_tracer()
    yield
    telemetry.install(recorder, tracer)
    gc.enable()


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey(bytes(range(32)))


@pytest.fixture(scope="session")
def signer(signing_key: SigningKey) -> Signer:
    return Signer(signing_key)


def make_settings(database_url: str, public_key: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "DISCORD_PUBLIC_KEY": public_key,
        "DISCORD_APPLICATION_ID": "1100000000000000000",
        "DATABASE_URL": database_url,
        "HUNCH_ENV": "dev",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def run_in_thread(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion from sync code that may itself sit inside a running loop."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


# -- Postgres: one schema per test session, migrated once, tables truncated between tests ----------------


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    schema = f"hunch_test_{uuid.uuid4().hex[:10]}"
    url = normalise_database_url(PG_URL)

    async def setup() -> None:
        engine = create_engine(url, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            await conn.execute(text(f'SET search_path TO "{schema}"'))
            await conn.run_sync(upgrade_connection)
        await engine.dispose()

    async def teardown() -> None:
        engine = create_engine(url, poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()

    run_in_thread(setup())
    yield schema
    run_in_thread(teardown())


def pg_engine(schema: str, **kwargs: object) -> Engine:
    """The production engine's class (`app.persistence.engine`) on a schema of the test database."""
    return create_engine(
        normalise_database_url(PG_URL),
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": schema, "application_name": "hunch-test"}},
        **kwargs,  # type: ignore[arg-type]
    )


async def truncate_all(engine: Engine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY"))


# -- SQLite: a migrated template file copied per test ------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"

    async def setup() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}", poolclass=NullPool)
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_connection)
        await engine.dispose()

    run_in_thread(setup())
    return path


@pytest_asyncio.fixture(params=["postgres", "sqlite"])
async def database(request: pytest.FixtureRequest, signing_key: SigningKey, tmp_path: Path) -> AsyncIterator[Database]:
    """A clean, migrated database: every service test runs on both Postgres and SQLite."""
    yield_db = await _database(request.param, request, signing_key, tmp_path)
    try:
        yield yield_db
    finally:
        await yield_db.dispose()


@pytest_asyncio.fixture
async def pg_database(
    request: pytest.FixtureRequest, signing_key: SigningKey, tmp_path: Path
) -> AsyncIterator[Database]:
    """Postgres only: for concurrency and fault tests."""
    db = await _database("postgres", request, signing_key, tmp_path)
    try:
        yield db
    finally:
        await db.dispose()


@pytest_asyncio.fixture
async def app_database(
    request: pytest.FixtureRequest, signing_key: SigningKey, tmp_path: Path
) -> AsyncIterator[Database]:
    """The database contract tests use: Postgres when TEST_DATABASE_URL is set, else SQLite."""
    db = await _database("postgres" if PG_URL else "sqlite", request, signing_key, tmp_path)
    try:
        yield db
    finally:
        await db.dispose()


async def _database(kind: str, request: pytest.FixtureRequest, signing_key: SigningKey, tmp_path: Path) -> Database:
    public_key = signing_key.verify_key.encode().hex()
    if kind == "postgres":
        if not PG_URL:
            pytest.skip("TEST_DATABASE_URL is not set (needs a real Postgres)")
        schema = request.getfixturevalue("pg_schema")
        engine = pg_engine(schema, pool_size=40, max_overflow=20)
        await truncate_all(engine)
        return Database(make_settings(PG_URL, public_key), engine)
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "hunch.sqlite3"
    shutil.copy(template, path)
    settings = make_settings(f"sqlite+aiosqlite:///{path}", public_key)
    return Database(settings)
