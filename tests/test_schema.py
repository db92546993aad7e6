"""`models/schema.py`: the tables the service queries, from the build's snapshot when it loads, else as
`models.tables` declares them. The packaged snapshot itself is checked in `tests/deploy`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

import models.schema as schema
from models.tables import metadata as declared


def _ddl(metadata: sa.MetaData) -> dict[str, list[str]]:
    """Every table's and index's DDL, as Postgres and SQLite would be told it."""
    found: dict[str, list[str]] = {}
    for name, table in sorted(metadata.tables.items()):
        for dialect in (postgresql.dialect(), sqlite.dialect()):
            # Constraints may come in another order: each line once, sorted.
            lines = str(CreateTable(table).compile(dialect=dialect)).splitlines()
            found.setdefault(name, []).extend(sorted(line.strip().rstrip(",") for line in lines))
            indexes = sorted(table.indexes, key=lambda index: str(index.name))
            found[name] += [str(CreateIndex(index).compile(dialect=dialect)) for index in indexes]
    return found


def test_without_a_snapshot_the_service_queries_the_declared_tables() -> None:
    if schema.SNAPSHOT.exists():
        pytest.skip("this checkout holds a schema snapshot (models/schema.pickle)")
    assert schema.metadata is declared  # a checkout has no snapshot: the tests run on the declared objects
    assert schema.trades is declared.tables["trades"]
    assert set(declared.tables) == {name for name in vars(schema) if isinstance(getattr(schema, name), sa.Table)}


def test_the_snapshot_gives_the_declared_schema_without_the_declared_objects(tmp_path: Path) -> None:
    snapshot = tmp_path / "schema.pickle"
    snapshot.write_bytes(schema.snapshot_bytes())
    loaded = schema.load(snapshot)
    assert loaded is not declared
    assert _ddl(loaded) == _ddl(declared)
    check = {c.name for t in loaded.tables.values() for c in t.constraints if isinstance(c, sa.CheckConstraint)}
    assert check == {
        c.name for t in declared.tables.values() for c in t.constraints if isinstance(c, sa.CheckConstraint)
    }


def _expressions(metadata: sa.MetaData) -> list[str]:
    """What the repositories build from every column: comparisons, arithmetic on numbers, and a whole-table
    select, update and insert, compiled for Postgres."""
    built = []
    for name, table in sorted(metadata.tables.items()):
        for column in table.columns:
            built.append(column == sa.bindparam(f"{name}_{column.name}"))
            if isinstance(column.type, sa.Integer):
                built += [column - 1, column + column, sa.func.greatest(column, 0)]
        built += [sa.select(table), sa.update(table).values({c.name: c for c in table.columns}), sa.insert(table)]
    return [str(expression.compile(dialect=postgresql.dialect())) for expression in built]


def test_the_snapshots_tables_build_the_same_statements(tmp_path: Path) -> None:
    snapshot = tmp_path / "schema.pickle"
    snapshot.write_bytes(schema.snapshot_bytes())
    assert _expressions(schema.load(snapshot)) == _expressions(declared)


@pytest.mark.parametrize(
    "content",
    [b"1.4.0\n" + schema.snapshot_bytes().partition(b"\n")[2], sa.__version__.encode() + b"\nnot a pickle", b""],
    ids=["another-sqlalchemy", "damaged", "empty"],
)
def test_a_snapshot_that_cannot_be_used_falls_back_to_the_declared_tables(tmp_path: Path, content: bytes) -> None:
    snapshot = tmp_path / "schema.pickle"
    snapshot.write_bytes(content)
    assert schema.load(snapshot) is declared
    assert schema.load(tmp_path / "missing.pickle") is declared


def test_the_build_writes_the_same_snapshot_every_time(tmp_path: Path) -> None:
    """`infra/lambda/build.py` writes the snapshot twice into two staged packages: the same bytes both times, so
    builds on one machine give the same zip."""
    build = _load_build()
    requirements = ROOT / "requirements.txt"
    written = []
    for n in (1, 2):
        stage = tmp_path / f"stage{n}"
        (stage / "models").mkdir(parents=True)
        build.write_schema_snapshot(stage, requirements)
        written.append((stage / "models" / "schema.pickle").read_bytes())
    assert written[0] == written[1]
    assert schema.load(stage / "models" / "schema.pickle") is not declared  # and it loads


ROOT = Path(__file__).resolve().parents[1]


def _load_build() -> Any:
    folder = ROOT / "infra" / "lambda"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location("hunch_lambda_build", folder / "build.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))
