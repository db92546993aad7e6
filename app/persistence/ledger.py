"""The write path of the books: transfers with the balance changes they make, audit rows and interaction
records. Nothing else in Hunch writes those tables.

Everything is staged on the unit of work's writes (`writes.py`): however many trades, payouts or grants a
unit of work posts, each table gets one statement when it flushes, as a set on Postgres and row by row on
SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.ledger import AccountKind, Transfer, TransferReason, balance_changes
from app.persistence.session import Session
from app.persistence.writes import JsonText
from models.schema import accounts, audit_events, interaction_records, transfers

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

_p = sa.bindparam
_start = _p("reset_start", type_=sa.BigInteger())
_house = _p("reset_house_id", type_=sa.BigInteger())
_MEMBERS = sa.and_(accounts.c.guild_id == _p("reset_guild_id"), accounts.c.kind == AccountKind.MEMBER.value)
_off = accounts.c.balance - _start  # what a member holds above the starting balance (below it: negative)
_RESET_TRANSFERS = sa.insert(transfers).from_select(
    list(_TRANSFER),
    sa.select(
        accounts.c.guild_id,
        sa.case((_off > 0, accounts.c.id), else_=_house),
        sa.case((_off > 0, _house), else_=accounts.c.id),
        sa.func.abs(_off),
        sa.literal(TransferReason.SEASON_RESET.value),
        sa.null(),
        _p("reset_interaction_id", type_=sa.BigInteger()),
        _p("reset_now", type_=sa.DateTime(timezone=True)),
    )
    .where(_MEMBERS, _off != 0)
    .order_by(accounts.c.id),
)
_members = accounts.alias("reset_member")
_RESET_HOUSE = (
    sa.update(accounts)
    .where(accounts.c.id == _house)
    .values(
        balance=accounts.c.balance
        + sa.select(sa.func.coalesce(sa.func.sum(_members.c.balance - _start), 0))
        .where(_members.c.guild_id == _p("reset_guild_id"), _members.c.kind == AccountKind.MEMBER.value)
        .scalar_subquery()
    )
)
_RESET_MEMBERS = sa.update(accounts).where(_MEMBERS, _off != 0).values(balance=_start)


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

    def reset_members(self, actor: Actor, house_id: int, starting_balance: int) -> None:
        """One set of transfers (each member's balance above the start to the house, or the shortfall from it),
        the house's balance, the members' balances: three statements reading the same balances (staged in this
        order, so SQLite, which runs them one by one, reads the members' balances before they change)."""
        params = {
            "reset_guild_id": actor.guild_id,
            "reset_start": starting_balance,
            "reset_house_id": house_id,
            "reset_interaction_id": actor.interaction_id,
            "reset_now": self._session.now,
        }
        for statement in (_RESET_TRANSFERS, _RESET_HOUSE, _RESET_MEMBERS):
            self._session.writes.statement(statement, params)

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
