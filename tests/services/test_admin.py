"""A server's settings (`app/services/admin.py`)."""

from __future__ import annotations

import pytest

from app.domain.audit import AuditAction
from app.domain.errors import Forbidden, ValidationError
from app.domain.guild import ConfigChange
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, OTHER_GUILD, fresh, member
from tests.support.fakes import FakeTransactions


async def test_managers_change_settings_within_bounds_and_every_change_is_audited(
    use_cases: UseCases, transactions: FakeTransactions
) -> None:
    manager = member(1, manager=True)
    with pytest.raises(Forbidden):
        await use_cases.update_config(fresh(member(ALICE)), ConfigChange(daily_bonus=5))
    with pytest.raises(ValidationError, match="default liquidity must be between 10 and 1,000,000"):
        await use_cases.update_config(fresh(manager), ConfigChange(default_liquidity=5))
    updated = await use_cases.update_config(fresh(manager), ConfigChange(daily_bonus=5, currency_name="gems"))
    assert (updated.daily_bonus, updated.currency_name) == (5, "gems")
    assert await use_cases.config(member(ALICE)) == updated
    assert (await use_cases.config(member(ALICE, guild=OTHER_GUILD))).daily_bonus == 100
    assert [(a, d) for _, a, _, d in transactions.books.audit] == [
        (AuditAction.CONFIG, {"daily_bonus": 5, "currency_name": "gems"})
    ]


async def test_roles_are_set_and_cleared(use_cases: UseCases) -> None:
    manager = member(1, manager=True)
    await use_cases.update_config(fresh(manager), ConfigChange(creator_role_id=7, resolver_role_id=8))
    cleared = await use_cases.update_config(fresh(manager), ConfigChange(clear_creator_role=True))
    assert (cleared.creator_role_id, cleared.resolver_role_id) == (None, 8)
