"""Unresolving markets of thousands of holders on the real databases: resolve, unresolve and resolve again end
exact to the point, a winner who spent the payout included, in a bounded number of statements."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions
from app.services import settlement, unresolve, wallet
from app.services.idempotency import execute
from app.services.results import GiftReceipt, Settlement, Unresolved
from models.tables import accounts, markets
from tests.persistence.test_ledger import statements
from tests.support.seeding import credited, market_with_holders, rows

GUILD = 900000000000000001
SPENDERS = (1000, 1002, 1004)  # holders of Yes (even numbers) who give their winnings away
SINK = 99  # who they give them to
STARTING_GRANT = 1000  # the house's grant to SINK when the first gift opens its account


async def _run(database: Database, result: type[Any], work: Any) -> Any:
    actor = Actor(GUILD, 1, is_manager=True, interaction_id=next(_ids))
    return await execute(Transactions(database), actor, "test", result, lambda uow: work(uow, actor))


_ids = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000))


async def _balances(database: Database) -> dict[int, int]:
    query = sa.select(accounts.c.id, accounts.c.balance).where(accounts.c.guild_id == GUILD)
    return {int(a): int(b) for a, b in await rows(Transactions(database), query)}


async def _clean(database: Database) -> None:
    from app.services.verify import verify_ledger

    assert await Transactions(database).run(verify_ledger) == []


async def _scenario(database: Database, holders: int) -> None:
    market = await market_with_holders(Transactions(database), GUILD, range(1000, 1000 + holders))
    number, pool_id = market.number, await _pool_id(database, market.id)
    before = await _balances(database)

    resolve = lambda outcome: lambda uow, a: settlement.resolve_market(uow, a, number, outcome)  # noqa: E731
    undo = lambda uow, a: unresolve.unresolve_market(uow, a, number, "mistake")  # noqa: E731

    first: Settlement = await _run(database, Settlement, resolve("Yes"))
    paid = await credited(Transactions(database), market.id, "payout")
    assert first.total_paid == sum(paid.values()) and first.paid_count == holders // 2
    accounts_of = await _accounts(database)
    for user in SPENDERS:  # spend everything they now have
        spender = Actor(GUILD, user, interaction_id=next(_ids))
        balance = (await _balances(database))[accounts_of[user]]
        await execute(
            Transactions(database),
            spender,
            "give",
            GiftReceipt,
            lambda uow, s=spender, b=balance: wallet.give(uow, s, SINK, b),  # type: ignore[misc]
        )
    sink_balance = (await _balances(database))[(await _accounts(database))[SINK]]

    with statements(database) as sent:
        undone: Unresolved = await _run(database, Unresolved, undo)
    assert len(sent) < 20  # a bounded number of statements, whatever the number of holders
    spent = {accounts_of[u]: paid[accounts_of[u]] for u in SPENDERS}
    assert undone.members == len(paid) and undone.shortfall == sum(spent.values())
    assert undone.reclaimed == first.total_paid - undone.shortfall
    house = await _house_id(database)
    expected = dict(before) | {a: 0 for a in spent} | {accounts_of_sink(await _accounts(database)): sink_balance}
    # The house carries what the winners had spent (and gave the gifts' recipient its starting grant).
    expected[house] = before[house] - undone.shortfall - STARTING_GRANT
    assert await _balances(database) == expected  # everyone else, and the pool, exactly as before the resolution
    await _clean(database)

    # Settle and unsettle it every way, then resolve it again as at first: every payout exact.
    for work in (resolve("No"), lambda uow, a: settlement.cancel_market(uow, a, number, "void")):
        await _run(database, Settlement, work)
        await _clean(database)
        await _run(database, Unresolved, undo)
        assert (await _balances(database))[pool_id] == before[pool_id]
        await _clean(database)
    again: Settlement = await _run(database, Settlement, resolve("Yes"))
    assert again.total_paid == first.total_paid
    final = await _balances(database)
    for user in SPENDERS:
        assert final[accounts_of[user]] == paid[accounts_of[user]]  # paid in full again
    assert final[pool_id] == 0
    status = await rows(Transactions(database), sa.select(markets.c.status).where(markets.c.id == market.id))
    assert status == [("resolved",)]
    await _clean(database)


def accounts_of_sink(accounts_of: dict[int, int]) -> int:
    return accounts_of[SINK]


async def _house_id(database: Database) -> int:
    query = sa.select(accounts.c.id).where(accounts.c.guild_id == GUILD, accounts.c.kind == "house")
    return int((await rows(Transactions(database), query))[0][0])


async def _pool_id(database: Database, market_id: int) -> int:
    found = await rows(Transactions(database), sa.select(markets.c.pool_account_id).where(markets.c.id == market_id))
    return int(found[0][0])


async def _accounts(database: Database) -> dict[int, int]:
    query = sa.select(accounts.c.user_id, accounts.c.id).where(
        accounts.c.guild_id == GUILD, accounts.c.user_id.is_not(None)
    )
    return {int(u): int(a) for u, a in await rows(Transactions(database), query)}


async def test_thousands_of_holders_resolve_unresolve_and_resolve_again_exactly_on_postgres(
    pg_database: Database,
) -> None:
    await _scenario(pg_database, 3000)


async def test_unresolving_is_as_exact_on_both_databases(database: Database) -> None:
    await _scenario(database, 1100)  # more than SQLite's chunk of accounts locked per statement
