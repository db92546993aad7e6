"""Staged writes, and the two ways they reach the database: as sets (Postgres) or row by row (SQLite).

Repositories and the ledger stage rows during a unit of work; nothing is sent until it flushes. Rows for
one table are gathered, so however many trades, payouts or transfers a unit of work stages, each table gets
one statement:

* `SetWrites` (Postgres) sends each table's rows as one `INSERT … SELECT unnest(…)` (or one `UPDATE … FROM
  unnest(…)` for balance changes) with the rows as arrays, built once per process, and the unit of work
  sends all of them as one statement of data-modifying CTEs: one round trip for a whole batch.
* `RowWrites` (SQLite, which has no arrays and runs one writer at a time) sends each table's rows as one
  `executemany`.

Either way the writes run in the order their tables were first staged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.dml import Insert, UpdateBase


class JsonText(str):
    """A value of a JSON column that is already serialised."""


Conflict = Callable[[Any], Insert]
"""Turns a dialect's INSERT into its upsert (`on_conflict_do_update(...)`); the same on both dialects."""


@dataclass(frozen=True, slots=True)
class Write:
    """One statement to send: `params` is one set of values, many (an executemany), or none (literal)."""

    statement: UpdateBase
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None
    many: bool = False


@dataclass(eq=False)
class _Rows:
    table: sa.Table
    columns: tuple[str, ...]
    conflict: Conflict | None
    rows: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(eq=False)
class _Changes:
    table: sa.Table
    column: str
    changes: dict[int, int] = field(default_factory=dict)


class Writes(Protocol):
    def insert(
        self, table: sa.Table, columns: tuple[str, ...], values: tuple[Any, ...], *, conflict: Conflict | None = None
    ) -> None:
        """Stage a row: the `values` of `columns` (every row of a table staged in one unit of work has the same
        columns, and callers keep each table's column tuple as one constant)."""

    def add(self, table: sa.Table, column: str, changes: Mapping[int, int]) -> None:
        """Stage `column += change` for the rows with these ids."""

    def statement(self, statement: UpdateBase, params: Mapping[str, Any] | None = None) -> None:
        """Stage one statement of its own, in order with the rest."""

    def later(self, render: Callable[[], list[Write]]) -> None:
        """Stage statements that are only known at the flush (they gather what was staged until then)."""

    def drain(self) -> list[Write]:
        """Everything staged, as statements, and forget it."""


class _Staging:
    def __init__(self) -> None:
        self._staged: list[_Rows | _Changes | Write | Callable[[], list[Write]]] = []
        self._rows: dict[str, _Rows] = {}
        self._changes: dict[tuple[str, str], _Changes] = {}

    def insert(
        self, table: sa.Table, columns: tuple[str, ...], values: tuple[Any, ...], *, conflict: Conflict | None = None
    ) -> None:
        found = self._rows.get(table.name)
        if found is None:
            found = self._rows[table.name] = _Rows(table, columns, conflict)
            self._staged.append(found)
        elif found.columns is not columns and (found.columns != columns or found.conflict is not conflict):
            # The table's statement names its parameters after the table: a second one would collide.
            raise ValueError(f"rows for {table.name} staged with two column sets in one unit of work")
        found.rows.append(values)

    def add(self, table: sa.Table, column: str, changes: Mapping[int, int]) -> None:
        key = (table.name, column)
        found = self._changes.get(key)
        if found is None:
            found = self._changes[key] = _Changes(table, column)
            self._staged.append(found)
        for row_id, change in changes.items():
            found.changes[row_id] = found.changes.get(row_id, 0) + change

    def statement(self, statement: UpdateBase, params: Mapping[str, Any] | None = None) -> None:
        self._staged.append(Write(statement, params))

    def later(self, render: Callable[[], list[Write]]) -> None:
        self._staged.append(render)

    def drain(self) -> list[Write]:
        staged, self._staged = self._staged, []
        self._rows.clear()
        self._changes.clear()
        writes = []
        for item in staged:
            if isinstance(item, _Rows):
                writes.append(self._insert(item))
            elif isinstance(item, _Changes):
                changes = {row_id: change for row_id, change in sorted(item.changes.items()) if change}
                if changes:
                    writes.append(self._add(item.table, item.column, changes))
            elif isinstance(item, Write):
                writes.append(item)
            else:
                writes.extend(item())
        return writes

    def _insert(self, rows: _Rows) -> Write:
        raise NotImplementedError

    def _add(self, table: sa.Table, column: str, changes: dict[int, int]) -> Write:
        raise NotImplementedError


class RowWrites(_Staging):
    """Row by row: one executemany per table."""

    def _insert(self, rows: _Rows) -> Write:
        columns = rows.columns
        params = [
            {
                name: json.loads(value) if isinstance(value, JsonText) else value
                for name, value in zip(columns, values, strict=True)
            }
            for values in rows.rows
        ]
        return Write(_row_insert(rows.table, rows.conflict), params, many=True)

    def _add(self, table: sa.Table, column: str, changes: dict[int, int]) -> Write:
        params = [{"row_id": row_id, "row_change": change} for row_id, change in changes.items()]
        return Write(_row_add(table, column), params, many=True)


class SetWrites(_Staging):
    """As sets: each table's rows in one statement, from arrays."""

    def _insert(self, rows: _Rows) -> Write:
        shape = _set_insert(rows.table, rows.columns, rows.conflict)
        arrays = [list(values) for values in zip(*rows.rows, strict=True)]
        for index in shape.json_columns:
            arrays[index] = [value if isinstance(value, JsonText) else json.dumps(value) for value in arrays[index]]
        return Write(shape.statement, dict(zip(shape.params, arrays, strict=True)))

    def _add(self, table: sa.Table, column: str, changes: dict[int, int]) -> Write:
        params = {_param(table, "id"): list(changes), _param(table, column): list(changes.values())}
        return Write(_set_add(table, column), params)


@dataclass(frozen=True, slots=True)
class _Shape:
    """A table's set insert for one column tuple: the statement, its array parameters in column order, and
    which columns are JSON (sent as serialised text)."""

    statement: UpdateBase
    params: tuple[str, ...]
    json_columns: tuple[int, ...]


def _param(table: sa.Table, column: str) -> str:
    # Never a column's name: SQLAlchemy would take such a key for a VALUES or SET entry.
    return f"{table.name}__{column}"


_BUILT: dict[tuple[Any, ...], UpdateBase] = {}


def _built(key: tuple[Any, ...], build: Callable[[], UpdateBase]) -> UpdateBase:
    """Statements are built once per process, so the unit of work can cache their combinations."""
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build()
    return found


def _row_insert(table: sa.Table, conflict: Conflict | None) -> UpdateBase:
    def build() -> UpdateBase:
        from sqlalchemy.dialects import sqlite

        return sa.insert(table) if conflict is None else conflict(sqlite.insert(table))

    return _built(("row-insert", table.name, id(conflict)), build)


def _row_add(table: sa.Table, column: str) -> UpdateBase:
    def build() -> UpdateBase:
        return (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({column: table.c[column] + sa.bindparam("row_change")})
        )

    return _built(("row-add", table.name, column), build)


_SHAPES: dict[tuple[str, tuple[str, ...], int], _Shape] = {}


def _set_insert(table: sa.Table, columns: tuple[str, ...], conflict: Conflict | None) -> _Shape:
    key = (table.name, columns, id(conflict))
    found = _SHAPES.get(key)
    if found is not None:
        return found
    from sqlalchemy.dialects import postgresql

    selected: list[Any] = []
    json_columns = []
    for index, name in enumerate(columns):
        column = table.c[name]
        if isinstance(column.type, sa.JSON):
            each = sa.func.unnest(sa.bindparam(_param(table, name), type_=postgresql.ARRAY(sa.Text())))
            selected.append(sa.cast(each, column.type))
            json_columns.append(index)
        else:
            selected.append(sa.func.unnest(sa.bindparam(_param(table, name), type_=postgresql.ARRAY(column.type))))
    statement = postgresql.insert(table).from_select(list(columns), sa.select(*selected))
    found = _SHAPES[key] = _Shape(
        statement if conflict is None else conflict(statement),
        tuple(_param(table, name) for name in columns),
        tuple(json_columns),
    )
    return found


def _set_add(table: sa.Table, column: str) -> UpdateBase:
    def build() -> UpdateBase:
        from sqlalchemy.dialects import postgresql

        big = postgresql.ARRAY(sa.BigInteger())
        change = sa.select(
            sa.func.unnest(sa.bindparam(_param(table, "id"), type_=big)).label("id"),
            sa.func.unnest(sa.bindparam(_param(table, column), type_=big)).label("change"),
        ).subquery("change")
        return sa.update(table).where(table.c.id == change.c.id).values({column: table.c[column] + change.c.change})

    return _built(("set-add", table.name, column), build)
