"""Concurrency and fault tests on a real Postgres: storms of requests at once.

Trades go through trading desks as in production: three desks stand for three app processes, so orders
are batched within a desk and race for the market's lock between desks.

Every test ends by proving the books balance. Deadlocks are retried by `run_transaction`, so a test that
must show the lock order is right counts the deadlocks it saw (there must be none).
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections import Counter
from collections.abc import Awaitable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.domain.actor import Actor
from app.domain.errors import HunchError, InsufficientBalance, Unavailable
from app.domain.market import Side
from app.persistence import failures, unit_of_work
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import markets, settlement, trading, wallet
from app.services.results import DailyClaim, GiftReceipt, MarketView, Settlement, TradeReceipt
from app.services.trading_desk import TradingDesk
from app.settings import normalise_database_url
from models.tables import Trade, accounts, interaction_records, transfers
from models.tables import markets as markets_table
from tests.conftest import PG_URL
from tests.persistence.helpers import act, assert_books_balance, fresh, member, query

trades = Trade.__table__
START = 1000
CREATOR = member(1)


@pytest.fixture
def retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts, by SQLSTATE, every failure `run_transaction` retried."""
    seen: Counter[str] = Counter()
    original = unit_of_work.is_retryable

    def counting(exc: BaseException) -> bool:
        retryable = original(exc)
        if retryable:
            seen[failures._sqlstate(exc) or "locked"] += 1  # type: ignore[arg-type]
        return retryable

    monkeypatch.setattr(unit_of_work, "is_retryable", counting)
    yield seen


async def create(database: Database, liquidity: int = 1000, outcomes: int = 2) -> MarketView:
    cmd = markets.CreateMarket(question="Storm?", outcomes=[f"O{i}" for i in range(outcomes)], liquidity=liquidity)
    return await act(database, CREATOR, MarketView, lambda uow: markets.create_market(uow, CREATOR, cmd))


_desks: weakref.WeakKeyDictionary[Database, list[TradingDesk]] = weakref.WeakKeyDictionary()


def desk(database: Database) -> TradingDesk:
    """One of three desks (three app processes) on this database, picked at random."""
    return random.choice(_desks.setdefault(database, [TradingDesk(Transactions(database)) for _ in range(3)]))


async def buy(database: Database, who: Actor, number: int, outcome: int, amount: int | None) -> TradeReceipt:
    actor = who if who.interaction_id else fresh(who)
    return await desk(database).trade(trading.Order(actor, Side.BUY, number, outcome, amount=amount))


async def sell(database: Database, who: Actor, number: int, outcome: int, shares: Decimal | None) -> TradeReceipt:
    return await desk(database).trade(trading.Order(fresh(who), Side.SELL, number, outcome, shares=shares))


async def give(database: Database, who: Actor, to: int, amount: int) -> GiftReceipt:
    actor = fresh(who)
    return await act(database, actor, GiftReceipt, lambda uow: wallet.give(uow, actor, to, amount))


async def daily(database: Database, who: Actor) -> DailyClaim:
    actor = who if who.interaction_id else fresh(who)
    return await act(database, actor, DailyClaim, lambda uow: wallet.claim_daily(uow, actor))


async def open_accounts(database: Database, user_ids: range | list[int]) -> None:
    """Open the members' accounts (with their starting grant) before a storm."""
    for user_id in user_ids:
        await daily(database, member(user_id))


async def balances(database: Database) -> dict[int, int]:
    async def work(uow: UnitOfWork) -> dict[int, int]:
        rows = await uow.conn.execute(
            sa.select(accounts.c.user_id, accounts.c.balance).where(accounts.c.kind == "member")
        )
        return {int(u): int(b) for u, b in rows}

    return await query(database, work)


async def count(database: Database, table: sa.Table, *where: Any) -> int:
    statement = sa.select(sa.func.count()).select_from(table).where(*where)
    return int(await query(database, lambda uow: uow.conn.scalar(statement)))


async def gather(*calls: Awaitable[Any]) -> list[Any]:
    """Run every call at once; each result is its value or the exception it raised."""
    return list(await asyncio.gather(*calls, return_exceptions=True))


def unexpected(results: list[Any], *allowed: type[BaseException]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException) and not isinstance(r, allowed)]


# -- one member, many requests -----------------------------------------------------------------------------


async def test_fifty_concurrent_buys_never_overdraw(pg_database: Database) -> None:
    db = pg_database
    await create(db)
    bob = member(2)  # opens his account in the storm itself: 50 first contacts at once
    amounts = [40 + 3 * i for i in range(50)]  # 40..187, about 5,700 points asked of 1,000
    results = await gather(*(buy(db, bob, 1, i % 2, amount) for i, amount in enumerate(amounts)))

    accepted = [amount for amount, r in zip(amounts, results, strict=True) if isinstance(r, TradeReceipt)]
    refused = [amount for amount, r in zip(amounts, results, strict=True) if isinstance(r, InsufficientBalance)]
    assert unexpected(results, InsufficientBalance) == []
    assert len(accepted) + len(refused) == 50 and accepted and refused
    final = (await balances(db))[2]
    assert final == START - sum(accepted) >= 0
    assert final < min(refused)  # each was refused while the balance was at least the final one
    assert sorted(r.points for r in results if isinstance(r, TradeReceipt)) == sorted(accepted)
    assert sorted(r.balance for r in results if isinstance(r, TradeReceipt))[0] == final
    assert await count(db, trades) == len(accepted)
    assert await count(db, transfers, transfers.c.reason == "stake") == len(accepted)
    assert await count(db, transfers, transfers.c.reason == "starting_grant") == 1
    await assert_books_balance(db)


async def test_twenty_concurrent_daily_claims_pay_once(pg_database: Database) -> None:
    db = pg_database
    results = await gather(*(daily(db, member(4)) for _ in range(20)))
    assert unexpected(results) == []
    assert [r.claimed for r in results].count(True) == 1
    assert {r.next_claim_at for r in results if not r.claimed} == {next(r for r in results if r.claimed).next_claim_at}
    assert (await balances(db))[4] == START + 100
    assert await count(db, transfers, transfers.c.reason == "daily_bonus") == 1
    assert await count(db, transfers, transfers.c.reason == "starting_grant") == 1
    await assert_books_balance(db)


# -- many members ------------------------------------------------------------------------------------------


async def test_concurrent_buys_and_sells_from_many_members(pg_database: Database, retries: Counter[str]) -> None:
    db = pg_database
    market = await create(db, liquidity=500, outcomes=3)
    users = list(range(10, 18))
    await open_accounts(db, users)
    for user in users:  # everyone holds something to sell
        await buy(db, member(user), 1, user % 3, 60)
    rng = random.Random(4)
    plan = []
    for _ in range(60):
        user, outcome = rng.choice(users), rng.randrange(3)
        if rng.random() < 0.55:
            plan.append(("buy", user, outcome, rng.randint(1, 120)))
        else:
            plan.append(("sell", user, outcome, Decimal(rng.randint(1, 40))))

    def call(side: str, user: int, outcome: int, size: Any) -> Awaitable[TradeReceipt]:
        if side == "buy":
            return buy(db, member(user), 1, outcome, size)
        return sell(db, member(user), 1, outcome, size)

    results = await gather(*(call(*step) for step in plan))
    assert unexpected(results, HunchError) == []  # a sale of more than held, say
    done = [r for r in results if isinstance(r, TradeReceipt)]
    assert len(done) > 30

    expected = {user: START + 100 - 60 for user in users}
    for (_, user, _, _), r in zip(plan, results, strict=True):
        if isinstance(r, TradeReceipt):
            expected[user] += r.points if r.side == "sell" else -r.points
    assert await balances(db) == expected
    assert await count(db, trades) == len(users) + len(done)

    async def market_row(uow: UnitOfWork) -> Any:
        return (await uow.conn.execute(sa.select(markets_table).where(markets_table.c.id == market.id))).one()

    row = await query(db, market_row)
    assert row.trade_count == len(users) + len(done)
    assert retries["40P01"] == 0
    await assert_books_balance(db)


async def test_concurrent_gifts_in_both_directions_conserve_points(
    pg_database: Database, retries: Counter[str]
) -> None:
    db = pg_database
    users = list(range(30, 36))
    await open_accounts(db, users)
    rng = random.Random(7)
    plan = []
    for _ in range(50):
        sender, recipient = rng.sample(users, 2)
        plan.append((sender, recipient, rng.randint(1, 400)))
    results = await gather(*(give(db, member(s), r, amount) for s, r, amount in plan))
    assert unexpected(results, InsufficientBalance) == []

    expected = {user: START + 100 for user in users}
    for (sender, recipient, amount), r in zip(plan, results, strict=True):
        if isinstance(r, GiftReceipt):
            expected[sender] -= amount
            expected[recipient] += amount
    final = await balances(db)
    assert final == expected
    assert sum(final.values()) == len(users) * (START + 100)  # the grants and bonuses, nothing more

    async def house(uow: UnitOfWork) -> int:
        return int(await uow.conn.scalar(sa.select(accounts.c.balance).where(accounts.c.kind == "house")))

    assert await query(db, house) == -len(users) * (START + 100)
    assert retries["40P01"] == 0
    await assert_books_balance(db)


async def test_mixed_storm_takes_locks_in_one_order(pg_database: Database, retries: Counter[str]) -> None:
    """New and old members trade, claim, give and receive grants while markets are resolved and cancelled.

    Every use case locks market rows first, then the house account, then member accounts by id; a
    deadlock (retried, so invisible to the member) would show the order is broken somewhere.
    """
    db = pg_database
    for _ in range(3):
        await create(db)
    old = list(range(40, 45))
    new = list(range(50, 60))
    await open_accounts(db, old)
    for user in old:
        await buy(db, member(user), 1 + user % 3, user % 2, 50)
    boss = member(99, admin=True)
    rng = random.Random(11)

    def grant(to: int) -> Awaitable[GiftReceipt]:
        actor = fresh(boss)
        return act(db, actor, GiftReceipt, lambda uow: wallet.grant(uow, actor, to, 25))

    def settle(number: int) -> Awaitable[Settlement]:
        actor = fresh(CREATOR)
        if number == 1:
            return act(db, actor, Settlement, lambda uow: settlement.resolve_market(uow, actor, 1, 0))
        return act(db, actor, Settlement, lambda uow: settlement.cancel_market(uow, actor, 2))

    calls: list[Awaitable[Any]] = []
    for i in range(60):
        kind = rng.choice(["buy", "buy", "daily", "give", "grant"])
        user = rng.choice(old + new)
        if kind == "buy":
            calls.append(buy(db, member(user), rng.randint(1, 3), rng.randrange(2), rng.randint(5, 50)))
        elif kind == "daily":
            calls.append(daily(db, member(user)))
        elif kind == "give":
            calls.append(give(db, member(user), rng.choice([u for u in old + new if u != user]), rng.randint(1, 50)))
        else:
            calls.append(grant(user))
        if i in (20, 40):
            calls.append(settle(1 if i == 20 else 2))
    results = await gather(*calls)
    assert unexpected(results, HunchError) == []
    assert sum(isinstance(r, Settlement) for r in results) == 2
    assert retries["40P01"] == 0, f"deadlocks: {retries}"
    await assert_books_balance(db)


# -- idempotency under concurrency -------------------------------------------------------------------------


async def test_the_same_interaction_twice_at_once_applies_once(pg_database: Database) -> None:
    db = pg_database
    await create(db)
    await open_accounts(db, [5])
    bob = fresh(member(5))
    receipts = await gather(*(buy(db, bob, 1, 0, 100) for _ in range(10)))
    assert unexpected(receipts) == []
    assert all(r == receipts[0] for r in receipts)
    assert await count(db, trades) == 1
    assert (await balances(db))[5] == START + 100 - 100
    # Five deliveries of one daily claim by a new member: every one gets the same answer, "claimed",
    # where five different interactions would have been told to come back tomorrow.
    claim = fresh(member(6))
    claims = await gather(*(daily(db, claim) for _ in range(5)))
    assert unexpected(claims) == []
    assert all(c == claims[0] for c in claims) and claims[0].claimed
    assert (await balances(db))[6] == START + 100
    assert await count(db, transfers, transfers.c.reason == "daily_bonus") == 2  # member 5's and member 6's
    assert await count(db, interaction_records, interaction_records.c.id == bob.interaction_id) == 1
    # And once more, after the fact: the recorded answer again.
    assert await buy(db, bob, 1, 0, 100) == receipts[0]
    assert await count(db, trades) == 1
    await assert_books_balance(db)


async def test_copies_of_one_all_in_order_racing_on_two_desks_get_one_answer(pg_database: Database) -> None:
    """Run again, an "everything" buy would be refused (the first copy spent the balance): the copy that
    loses the race must find the winner's recorded receipt, not report its own refusal."""
    db = pg_database
    await create(db)
    desks = [TradingDesk(Transactions(db)), TradingDesk(Transactions(db))]
    for user in range(10, 30):
        order = trading.Order(fresh(member(user)), Side.BUY, 1, user % 2, amount=None)
        first, second = await gather(*(d.trade(order) for d in desks))
        assert isinstance(first, TradeReceipt) and first == second, (first, second)
        assert first.balance == 0
    assert await count(db, trades) == 20
    await assert_books_balance(db)


# -- a backend terminated mid-storm ------------------------------------------------------------------------


@pytest.fixture
def backend_pids(pg_database: Database) -> set[int]:
    """The server pids of this test's own connections: the only ones the killer may terminate."""
    pids: set[int] = set()

    @event.listens_for(pg_database.engine.sync_engine, "connect")
    def remember(dbapi_conn: Any, _record: Any) -> None:
        pids.add(dbapi_conn.driver_connection.get_server_pid())

    return pids


KILL = sa.text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE application_name = 'hunch-test' AND pid <> pg_backend_pid() AND pid = ANY(:ours)"
)


async def test_backends_terminated_mid_storm_lose_nothing(pg_database: Database, backend_pids: set[int]) -> None:
    """Three waves of buys from ten members each betting one after another; in the first two waves, once
    a few got through, every backend of ours is terminated, three times over."""
    db = pg_database
    await create(db, liquidity=2000)
    users = list(range(70, 80))
    await open_accounts(db, users)
    plan = [(users[i % len(users)], i % 2, 5 + i % 17) for i in range(90)]
    killer_engine = create_async_engine(normalise_database_url(PG_URL), poolclass=NullPool)
    killed: list[int] = []
    succeeded = 0

    async def client(steps: list[tuple[int, int, int]]) -> list[Any]:
        nonlocal succeeded
        outcomes: list[Any] = []
        for user, outcome, amount in steps:
            try:
                outcomes.append(await buy(db, member(user), 1, outcome, amount))
                succeeded += 1
            except Exception as error:
                outcomes.append(error)
        return outcomes

    async def kill_after(successes: int) -> None:
        deadline = asyncio.get_running_loop().time() + 20
        while succeeded < successes:
            if asyncio.get_running_loop().time() > deadline:
                return  # the wave never got that far; the assertions below say so
            await asyncio.sleep(0.002)
        found = 0
        for _ in range(3):
            async with killer_engine.connect() as conn:
                rows = (await conn.execute(KILL, {"ours": list(backend_pids)})).all()
            found += sum(1 for (ok,) in rows if ok)
            await asyncio.sleep(0.005)
        killed.append(found)

    results: list[Any] = []
    try:
        for wave in range(3):
            steps = plan[wave * 30 : (wave + 1) * 30]
            calls: list[Awaitable[Any]] = [client(steps[i::10]) for i in range(10)]  # user i bets thrice
            if wave < 2:
                calls.append(kill_after(succeeded + 6))
            by_client = (await asyncio.gather(*calls))[:10]
            results.extend(by_client[i % 10][i // 10] for i in range(30))
    finally:
        await killer_engine.dispose()

    outcomes = Counter(type(r).__name__ for r in results)
    assert len(killed) == 2 and all(killed), f"the killer found no backend to terminate: {killed}"
    assert unexpected(results, Unavailable, HunchError) == []
    assert outcomes["Unavailable"] > 0, f"no request was caught mid-transaction: {outcomes}"
    done = [r for r in results if isinstance(r, TradeReceipt)]
    assert len(done) >= 12 + 30, outcomes  # at least 6 in each killed wave, and all of the last

    assert await count(db, trades) == len(done)

    async def staked(uow: UnitOfWork) -> int:
        stakes = sa.select(sa.func.sum(transfers.c.amount)).where(transfers.c.reason == "stake")
        return int(await uow.conn.scalar(stakes))

    assert await query(db, staked) == sum(r.points for r in done)
    expected = {user: START + 100 for user in users}
    for (user, _, _), r in zip(plan, results, strict=True):
        expected[user] -= r.points if isinstance(r, TradeReceipt) else 0
    assert await balances(db) == expected
    await assert_books_balance(db)
