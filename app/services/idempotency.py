"""Every state-changing interaction applies once, however often Discord delivers it."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from app.domain.actor import Actor
from app.domain.errors import HunchError
from app.services.ports import Transactions, UnitOfWork, Work

R = TypeVar("R", bound=BaseModel)


async def execute(transactions: Transactions, actor: Actor, action: str, result_type: type[R], work: Work[R]) -> R:
    """Run a state-changing use case once per Discord interaction.

    The outcome is recorded under the interaction id in the same transaction as its effects, so a redelivered
    interaction gets the recorded answer and applies nothing again, also when the copies race: a copy refused
    by the use case (the first spent the balance it needed) looks again, after the use case's locks, for the
    answer the first recorded; a copy that would apply again clashes on the record's key and is retried.
    """
    key = actor.interaction_id

    async def attempt(uow: UnitOfWork) -> R:
        if key is not None and (stored := await _recorded(uow, key)) is not None:
            return result_type.model_validate(stored)
        try:
            result = await work(uow)
        except HunchError:
            if key is not None and (stored := await _recorded(uow, key)) is not None:
                return result_type.model_validate(stored)
            raise
        if key is not None:
            uow.ledger.record(actor, action, result)
        await uow.commit()
        return result

    return await transactions.run(attempt, retry_duplicates=key is not None)


async def _recorded(uow: UnitOfWork, key: int) -> dict[str, object] | None:
    return (await uow.records.find([key])).get(key)
