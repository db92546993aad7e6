"""Small helpers for use-case tests on a real database: actors and a one-call way to run a use case."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.market import Side
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork, run_transaction
from app.services.idempotency import execute
from app.services.results import TradeReceipt
from app.services.trading import Order
from app.services.trading_desk import TradingDesk
from app.services.verify import verify_ledger

GUILD = 900000000000000001
R = TypeVar("R", bound=BaseModel)
_ids = itertools.count(1_300_000_000_000_000_000)


def member(
    user_id: int,
    *,
    admin: bool = False,
    roles: frozenset[int] = frozenset(),
    guild: int = GUILD,
    interaction_id: int | None = None,
) -> Actor:
    return Actor(guild_id=guild, user_id=user_id, is_manager=admin, role_ids=roles, interaction_id=interaction_id)


def fresh(who: Actor) -> Actor:
    """The same member in a new interaction (a new idempotency key)."""
    return replace(who, interaction_id=next(_ids))


async def act(database: Database, who: Actor, result_type: type[R], work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
    """Run a use case as `who`; a new interaction unless `who` already carries an interaction id."""
    return await execute(Transactions(database), who if who.interaction_id else fresh(who), "test", result_type, work)


async def trade(
    database: Database,
    who: Actor,
    side: Side,
    number: int,
    outcome: int | str,
    *,
    amount: int | None = None,
    shares: Decimal | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TradeReceipt:
    """A buy or a sale through a trading desk, as the handlers trade; a new interaction unless `who`
    already carries an interaction id."""
    actor = who if who.interaction_id else fresh(who)
    transactions = Transactions(database, clock) if clock is not None else Transactions(database)
    return await TradingDesk(transactions).trade(Order(actor, side, number, outcome, amount=amount, shares=shares))


async def query(database: Database, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
    return await run_transaction(database, work)


async def assert_books_balance(database: Database) -> None:
    problems = await run_transaction(database, verify_ledger)
    assert problems == [], "\n".join(problems)
