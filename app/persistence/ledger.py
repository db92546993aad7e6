"""The write path of the books: transfers with the balance changes they make, audit rows and interaction
records. Nothing else in Hunch writes those tables.

Everything is staged on the unit of work's writes (`writes.py`): however many trades, payouts or grants a
unit of work posts, each table gets one statement when it flushes, as a set on Postgres and row by row on
SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.ledger import Transfer, balance_changes
from app.persistence.session import Session
from models.tables import accounts, audit_events, interaction_records, transfers


class SqlLedger:
    """`app.services.ports.Ledger` on the unit of work's staged writes."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def post(self, actor: Actor, moves: Iterable[Transfer]) -> None:
        moves = [move for move in moves if move.amount > 0]
        if not moves:
            return
        self._session.writes.add(accounts, "balance", balance_changes(moves))
        for move in moves:
            self._session.writes.insert(
                transfers,
                {
                    "guild_id": actor.guild_id,
                    "debit_account_id": move.debit,
                    "credit_account_id": move.credit,
                    "amount": move.amount,
                    "reason": move.reason.value,
                    "market_id": move.market_id,
                    "interaction_id": actor.interaction_id,
                    "created_at": self._session.now,
                },
            )

    def audit(self, actor: Actor, action: AuditAction, *, market_id: int | None = None, **details: Any) -> None:
        self._session.writes.insert(
            audit_events,
            {
                "guild_id": actor.guild_id,
                "actor_id": actor.user_id,
                "action": action.value,
                "market_id": market_id,
                "details": details,
                "interaction_id": actor.interaction_id,
                "created_at": self._session.now,
            },
        )

    def record(self, actor: Actor, action: str, result: Mapping[str, Any]) -> None:
        if actor.interaction_id is None:
            return
        self._session.writes.insert(
            interaction_records,
            {
                "id": actor.interaction_id,
                "guild_id": actor.guild_id,
                "user_id": actor.user_id,
                "action": action,
                "result": dict(result),
                "created_at": self._session.now,
            },
        )
