"""The use cases on in-memory fakes of their ports: no database, no Discord."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.domain.actor import Actor
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from app.services.verify import verify_ledger
from tests.support.fakes import FakeThrottle, FakeTransactions

GUILD = 900000000000000001
OTHER_GUILD = 900000000000000002
ADMIN, ALICE, BOB, CAROL = 10, 11, 12, 13
START = 1000  # a guild's default starting balance

_interactions: Iterator[int] = itertools.count(1_300_000_000_000_000_000)


def member(user_id: int, *, manager: bool = False, roles: frozenset[int] = frozenset(), guild: int = GUILD) -> Actor:
    return Actor(guild_id=guild, user_id=user_id, is_manager=manager, role_ids=roles)


def fresh(who: Actor) -> Actor:
    """The same member in a new interaction (a new idempotency key)."""
    return replace(who, interaction_id=next(_interactions))


@pytest.fixture
def transactions() -> FakeTransactions:
    return FakeTransactions()


@pytest.fixture
def throttle() -> FakeThrottle:
    return FakeThrottle()


@pytest.fixture
def use_cases(transactions: FakeTransactions, throttle: FakeThrottle) -> UseCases:
    return UseCases(transactions, TradingDesk(transactions), throttle)


async def books_balance(transactions: FakeTransactions) -> None:
    problems = await transactions.run(verify_ledger)
    assert problems == [], "\n".join(problems)
