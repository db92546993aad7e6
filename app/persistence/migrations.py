"""Apply the alembic migrations in `infra/migrations` to the configured database."""

from __future__ import annotations

from pathlib import Path

from app.persistence.database import Database
from app.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "infra" / "migrations"


def alembic_config(database_url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The newest migration's revision, read from the scripts (alembic's `heads`)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(database: Database) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from sqlalchemy import text

    async with database.engine.connect() as conn:
        revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    return str(revision) if revision is not None else None


def upgrade(settings: Settings, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(settings.database_url), revision)


def upgrade_connection(connection: object, revision: str = "head") -> None:
    """Migrate through an open (sync) connection, e.g. from `Connection.run_sync` (`app.persistence.engine`)."""
    from alembic import command

    config = alembic_config("")
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
