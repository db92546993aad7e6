"""What the tables share: the metadata, and the column kinds every table uses."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# SQLite only auto-increments an INTEGER PRIMARY KEY; Postgres gets a BIGINT identity.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
metadata = SQLModel.metadata


def one_of(column: str, values: Iterable[StrEnum]) -> str:
    """A CHECK that `column` holds one of the enum's values."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def pk() -> Any:
    return Field(default=None, sa_column=sa.Column(BigId, primary_key=True, autoincrement=True))


def big(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.BigInteger(), nullable=nullable))


def time(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=nullable))


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a model, for the queries that are faster or clearer without the ORM."""
    found: sa.Table = model.__table__  # type: ignore[attr-defined]
    return found
