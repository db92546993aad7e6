"""Starting a season on the real databases (`app/persistence/seasons.py`, the ledger's reset): points are
conserved, every balance is the starting balance, the final standings stay readable, and a big server
resets in the same few statements as a small one."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from app.domain.errors import Forbidden
from app.domain.ledger import AccountKind
from app.domain.market import Side
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import markets, seasons, wallet
from app.services.idempotency import execute
from app.services.record_results import SeasonStart
from app.services.results import GiftReceipt, MarketView
from models.tables import accounts, positions, transfers
from tests.persistence.helpers import GUILD, act, assert_books_balance, fresh, member, query, trade
from tests.persistence.test_ledger import statements
from tests.support.seeding import market_with_holders

ALICE, BOB, CAROL = 31, 32, 33
OTHER = GUILD + 1
START = 1000


async def _start(database: Database, name: str | None = None, guild: int = GUILD) -> SeasonStart:
    admin = fresh(member(1, admin=True, guild=guild))
    return await execute(
        Transactions(database), admin, "season", SeasonStart, lambda uow: seasons.start_season(uow, admin, name, 10)
    )


async def _balances(database: Database, guild: int) -> dict[str, int]:
    async def read(uow: UnitOfWork) -> dict[str, int]:
        query = sa.select(accounts.c.kind, sa.func.sum(accounts.c.balance)).where(accounts.c.guild_id == guild)
        return {str(k): int(total) for k, total in await uow.conn.execute(query.group_by(accounts.c.kind))}

    return await query(database, read)


async def _member_balances(database: Database, guild: int) -> dict[int, int]:
    async def read(uow: UnitOfWork) -> dict[int, int]:
        query = sa.select(accounts.c.user_id, accounts.c.balance).where(
            accounts.c.guild_id == guild, accounts.c.kind == AccountKind.MEMBER.value
        )
        return {int(u): int(b) for u, b in await uow.conn.execute(query)}

    return await query(database, read)


async def test_a_season_reset_conserves_points_and_keeps_the_standings(database: Database) -> None:
    await act(database, member(ALICE), GiftReceipt, lambda uow: wallet.give(uow, member(ALICE), BOB, 300))
    cmd = markets.CreateMarket(question="Rain?", outcomes=["Yes", "No"], liquidity=1000)
    await act(database, member(ALICE), MarketView, lambda uow: markets.create_market(uow, member(ALICE), cmd))
    await trade(database, member(CAROL), Side.BUY, 1, "Yes", amount=250)
    await act(
        database,
        member(ALICE, guild=OTHER),
        GiftReceipt,
        lambda uow: wallet.give(uow, member(ALICE, guild=OTHER), BOB, 5),
    )
    before = await _member_balances(database, GUILD)
    assert before == {ALICE: 700, BOB: 1300, CAROL: 750}
    held = await query(database, lambda uow: _positions(uow))
    other_before = await _member_balances(database, OTHER)

    started = await _start(database)

    assert (started.ended.name, started.name, started.members_reset) == ("Season 1", "Season 2", 3)
    assert [(e.user_id, e.balance) for e in started.ended.entries] == [(BOB, 1300), (CAROL, 750), (ALICE, 700)]
    assert await _member_balances(database, GUILD) == {ALICE: START, BOB: START, CAROL: START}
    totals = await _balances(database, GUILD)
    assert sum(totals.values()) == 0  # every point still comes from the house
    assert await query(database, lambda uow: _positions(uow)) == held  # open positions carried over
    assert await _member_balances(database, OTHER) == other_before
    await assert_books_balance(database)

    async def resets(uow: UnitOfWork) -> list[int]:
        query = sa.select(transfers.c.amount).where(transfers.c.reason == "season_reset").order_by(transfers.c.amount)
        return [int(a) for (a,) in await uow.conn.execute(query)]

    assert await query(database, resets) == [250, 300, 300]
    board = await query(database, lambda uow: seasons.season_standings(uow, GUILD, "SEASON 1", 2))
    assert [(e.user_id, e.balance) for e in board.entries] == [(BOB, 1300), (CAROL, 750)]

    second = await _start(database, "Summer League")
    assert (second.ended.name, second.name, second.number) == ("Season 2", "Summer League", 3)
    assert [(e.user_id, e.balance) for e in second.ended.entries] == [(ALICE, START), (BOB, START), (CAROL, START)]
    assert await query(database, lambda uow: seasons.search_seasons(uow, GUILD, "")) == ["Season 2", "Season 1"]
    await assert_books_balance(database)


async def _positions(uow: UnitOfWork) -> list[tuple[int, ...]]:
    rows = await uow.conn.execute(sa.select(positions).order_by(*positions.primary_key.columns))
    return [tuple(row) for row in rows]


async def test_a_big_server_resets_in_the_statements_of_a_small_one(pg_database: Database) -> None:
    small, big = GUILD + 10, GUILD + 20
    await market_with_holders(Transactions(pg_database), small, range(5000, 5010), liquidity=1000)
    await market_with_holders(Transactions(pg_database), big, range(10_000, 30_000), liquidity=10_000, batch=2000)
    sent = {}
    for guild in (small, big):
        with statements(pg_database) as sent[guild]:
            await _start(pg_database, guild=guild)
    assert len(sent[big]) == len(sent[small]) <= 15, sent[big]
    assert set((await _member_balances(pg_database, big)).values()) == {START}
    assert sum((await _balances(pg_database, big)).values()) == 0
    await assert_books_balance(pg_database)


async def test_only_a_manager_starts_a_season_and_a_refusal_changes_nothing(database: Database) -> None:
    await act(database, member(ALICE), GiftReceipt, lambda uow: wallet.give(uow, member(ALICE), BOB, 10))
    before = await _member_balances(database, GUILD)
    bob = fresh(member(BOB))
    with pytest.raises(Forbidden):
        await execute(
            Transactions(database), bob, "season", SeasonStart, lambda uow: seasons.start_season(uow, bob, None, 10)
        )
    assert await _member_balances(database, GUILD) == before
    assert await query(database, lambda uow: seasons.search_seasons(uow, GUILD, "")) == []


async def test_a_season_start_amid_gifts_resets_what_came_before_and_keeps_what_came_after(
    pg_database: Database,
) -> None:
    users = list(range(40, 52))
    for user in users:  # every member's account open before the race
        await act(pg_database, member(user), GiftReceipt, lambda uow, u=user: wallet.give(uow, member(u), 99, 1))

    async def gift(n: int) -> None:
        giver, receiver = users[n % len(users)], users[(n * 5 + 1) % len(users)]
        if giver != receiver:
            await act(pg_database, member(giver), GiftReceipt, lambda uow: wallet.give(uow, member(giver), receiver, 7))

    await asyncio.gather(*(gift(n) for n in range(30)), _start(pg_database), *(gift(n) for n in range(30, 60)))
    await assert_books_balance(pg_database)

    async def after_reset(uow: UnitOfWork) -> dict[int, int]:
        last_reset = await uow.conn.scalar(
            sa.select(sa.func.max(transfers.c.id)).where(transfers.c.reason == "season_reset")
        )
        later = sa.select(transfers.c.debit_account_id, transfers.c.credit_account_id, transfers.c.amount).where(
            transfers.c.id > last_reset
        )
        users_by_account = {
            int(a): int(u)
            for a, u in await uow.conn.execute(
                sa.select(accounts.c.id, accounts.c.user_id).where(accounts.c.kind == AccountKind.MEMBER.value)
            )
        }
        moved: dict[int, int] = dict.fromkeys(users_by_account.values(), 0)
        for debit, credit, amount in await uow.conn.execute(later):
            moved[users_by_account[int(debit)]] -= int(amount)
            moved[users_by_account[int(credit)]] += int(amount)
        return moved

    moved = await query(pg_database, after_reset)
    balances = await _member_balances(pg_database, GUILD)
    assert balances == {user: START + moved[user] for user in balances}
