"""Staged writes as sets (Postgres) or row by row (SQLite) (`app/persistence/writes.py`); no database."""

from __future__ import annotations

import json

import pytest

from app.persistence.writes import RowWrites, SetWrites, Write
from models.tables import accounts, audit_events, transfers

COLUMNS = ("guild_id", "debit_account_id", "credit_account_id", "amount", "reason")
AUDIT = ("guild_id", "details")


def _transfer(amount: int) -> tuple[object, ...]:
    return (1, 2, 3, amount, "gift")


def test_set_writes_send_each_table_once_with_its_rows_as_arrays() -> None:
    writes = SetWrites()
    writes.add(accounts, "balance", {3: 5, 2: -5})
    for amount in (5, 7):
        writes.insert(transfers, COLUMNS, _transfer(amount))
    writes.add(accounts, "balance", {3: 7, 2: -7})
    writes.insert(audit_events, AUDIT, (1, {"a": 1}))
    drained = writes.drain()
    assert [w.statement.table.name for w in drained] == ["accounts", "transfers", "audit_events"]  # type: ignore[attr-defined]
    balances, moves, audit = (w.params for w in drained)
    assert balances == {"accounts__id": [2, 3], "accounts__balance": [-12, 12]}
    assert moves["transfers__amount"] == [5, 7] and moves["transfers__guild_id"] == [1, 1]  # type: ignore[index]
    assert audit["audit_events__details"] == [json.dumps({"a": 1})]  # type: ignore[index]
    assert writes.drain() == []


def test_statements_are_built_once_per_process() -> None:
    first, second = SetWrites(), SetWrites()
    for writes in (first, second):
        writes.insert(transfers, COLUMNS, _transfer(1))
    [a], [b] = first.drain(), second.drain()
    assert a.statement is b.statement


def test_changes_that_cancel_out_send_nothing() -> None:
    writes = SetWrites()
    writes.add(accounts, "balance", {1: 5})
    writes.add(accounts, "balance", {1: -5})
    assert writes.drain() == []


def test_row_writes_are_one_executemany_per_table_in_id_order() -> None:
    writes = RowWrites()
    writes.add(accounts, "balance", {9: 1, 4: -1})
    writes.insert(transfers, COLUMNS, _transfer(1))
    writes.insert(transfers, COLUMNS, _transfer(2))
    balances, moves = writes.drain()
    assert balances.many and balances.params == [{"row_id": 4, "row_change": -1}, {"row_id": 9, "row_change": 1}]
    assert [row["amount"] for row in moves.params] == [1, 2]  # type: ignore[index, union-attr]


def test_a_statement_of_its_own_keeps_its_place() -> None:
    writes = SetWrites()
    writes.insert(transfers, COLUMNS, _transfer(1))
    own = accounts.update().values(balance=0)
    writes.statement(own)
    writes.add(accounts, "balance", {1: 1})
    drained = writes.drain()
    assert drained[1] == Write(own, None)
    assert [w.statement.table.name for w in drained] == ["transfers", "accounts", "accounts"]  # type: ignore[attr-defined]


def test_rows_of_one_table_need_the_same_columns() -> None:
    writes = SetWrites()
    writes.insert(transfers, COLUMNS, _transfer(1))
    with pytest.raises(ValueError, match="two column sets"):
        writes.insert(transfers, ("guild_id",), (1,))
