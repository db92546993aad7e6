"""The alembic migrations and the models agree, and the `migrate` / `verify-ledger` commands work end to end."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.persistence.database import Database
from app.services import wallet
from app.services.results import GiftReceipt
from models.tables import metadata
from tests.conftest import make_settings, pg_engine, requires_postgres
from tests.persistence.helpers import GUILD, act, assert_books_balance, fresh, member

ROOT = Path(__file__).resolve().parents[2]


def schema_diff(connection: sa.Connection, target: sa.MetaData = metadata) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    return list(compare_metadata(context, target))


def with_extra_column() -> sa.MetaData:
    """The models plus one column no migration creates: the comparison must notice it."""
    copy = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    copy.tables["accounts"].append_column(sa.Column("nickname", sa.String(20)))
    return copy


@requires_postgres
async def test_postgres_schema_matches_the_models(pg_schema: str) -> None:
    engine = pg_engine(pg_schema, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(schema_diff) == []
            drift = await conn.run_sync(schema_diff, with_extra_column())
            assert [d[0] for d in drift] == ["add_column"]
            triggers = await conn.scalars(
                sa.text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text "
                    "IN ('transfers', 'audit_events') ORDER BY tgname"
                )
            )
            assert list(triggers) == ["audit_events_append_only", "transfers_append_only"]
    finally:
        await engine.dispose()


async def test_sqlite_schema_matches_the_models(sqlite_template: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{sqlite_template}", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(schema_diff) == []
            assert [d[0] for d in await conn.run_sync(schema_diff, with_extra_column())] == ["add_column"]
    finally:
        await engine.dispose()


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


async def run_app(database_url: str, *args: str) -> Run:
    """`python -m app ARGS` against `database_url`, from the repository root."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "HUNCH_"))}
    env.update(DATABASE_URL=database_url, HUNCH_ENV="dev", LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from app.persistence.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def test_the_migrations_form_one_line_ending_at_the_newest() -> None:
    assert head_revision() == "0010"


async def test_migrate_and_verify_ledger_commands_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    url = f"sqlite:///{path}"

    migrated = await run_app(url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert set(metadata.tables) | {"alembic_version"} <= tables
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head_revision(),)]

    # Some real activity, so there is a ledger to check.
    database = Database(make_settings(f"sqlite+aiosqlite:///{path}", ""))
    try:
        bob = fresh(member(12))
        await act(database, bob, GiftReceipt, lambda uow: wallet.give(uow, bob, 13, 250))
        await assert_books_balance(database)
    finally:
        await database.dispose()

    # Check the clean file and a corrupted copy of it at the same time (each run starts a new Python).
    broken = tmp_path / "broken.sqlite3"
    shutil.copy(path, broken)
    with sqlite3.connect(broken) as db:
        (account_id,) = db.execute("SELECT id FROM accounts WHERE guild_id = ? AND user_id = 12", (GUILD,)).fetchone()
        db.execute("UPDATE accounts SET balance = balance + 5 WHERE id = ?", (account_id,))
    clean, corrupted = await asyncio.gather(
        run_app(url, "verify-ledger"), run_app(f"sqlite:///{broken}", "verify-ledger")
    )

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "ledger OK" in clean.stdout
    assert corrupted.returncode != 0
    assert f"VIOLATION: account {account_id} (member) has balance 755 but its ledger entries sum to 750" in (
        corrupted.stdout
    )
    assert f"guild {GUILD}: balances sum to 5" in corrupted.stdout
