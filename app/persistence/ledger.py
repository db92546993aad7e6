"""The write path of the books: transfers with the balance changes they make, audit rows and interaction
records. Nothing else in Hunch writes those tables.

Everything is staged on the unit of work's writes (`writes.py`): however many trades, payouts or grants a
unit of work posts, each table gets one statement when it flushes, as a set on Postgres and row by row on
SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.ledger import Transfer, balance_changes
from app.persistence.session import Session
from app.persistence.writes import JsonText
from models.tables import accounts, audit_events, interaction_records, transfers

_TRANSFER = (
    "guild_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "reason",
    "market_id",
    "interaction_id",
    "created_at",
)
_AUDIT = ("guild_id", "actor_id", "action", "market_id", "details", "interaction_id", "created_at")
_RECORD = ("id", "guild_id", "user_id", "action", "result", "created_at")


class SqlLedger:
    """`app.services.ports.Ledger` on the unit of work's staged writes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def post(self, actor: Actor, moves: Iterable[Transfer]) -> None:
        moves = [move for move in moves if move.amount > 0]
        if not moves:
            return
        writes, now = self._session.writes, self._session.now
        writes.add(accounts, "balance", balance_changes(moves))
        for move in moves:
            values = (
                actor.guild_id,
                move.debit,
                move.credit,
                move.amount,
                move.reason.value,
                move.market_id,
                actor.interaction_id,
                now,
            )
            writes.insert(transfers, _TRANSFER, values)

    def audit(self, actor: Actor, action: AuditAction, *, market_id: int | None = None, **details: Any) -> None:
        values = (
            actor.guild_id,
            actor.user_id,
            action.value,
            market_id,
            details,
            actor.interaction_id,
            self._session.now,
        )
        self._session.writes.insert(audit_events, _AUDIT, values)

    def record(self, actor: Actor, action: str, result: BaseModel) -> None:
        if actor.interaction_id is None:
            return
        # Serialised by pydantic's own encoder, once: a receipt is the largest value a trade writes.
        text = JsonText(result.model_dump_json())
        values = (actor.interaction_id, actor.guild_id, actor.user_id, action, text, self._session.now)
        self._session.writes.insert(interaction_records, _RECORD, values)
