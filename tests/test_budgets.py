"""Cost budgets of the hot path, counted, never timed: a change that adds a round trip fails here.

Every database round trip is counted where it happens, in the driver: each connection's asyncpg protocol is
wrapped, and every message exchange with the server (prepare, bind/execute, simple query: BEGIN, COMMIT, a
ping) counts one. Redis calls are counted on the rate limiter's own client. The interactions are signed
Discord-shaped payloads through the real ASGI app on Postgres, with the production engine (`make_engine`: its
pool and its ping policy), after a warm-up so that prepared statements and type lookups are already cached on
the connection, as they are on a busy server.

To change a budget, change the table and say why in the commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event

from app.bootstrap import bootstrap
from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions
from app.ratelimit import Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from app.ratelimit.sql import SqlRateLimiter
from app.ratelimit.throttle import RateLimitThrottle, ThrottleLimits
from app.services.ports import ThrottledAction
from app.web import create_app
from app.worker import Worker
from tests.conftest import PG_URL, make_settings
from tests.support.discord_payloads import DiscordClient, User
from tests.support.signing import Signer

pytestmark = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set (needs a real Postgres)")

# What one interaction may cost, in database round trips (each a wait on the server) ----------------------------
#
#  interaction                                        round trips   what they are
BUDGETS: dict[str, int] = {
    "/bet, a member's first": 8,  #   their account opened (BEGIN, open, write, COMMIT), then the bet
    "/bet": 4,  #                     BEGIN, lock the market and the member, write everything, COMMIT
    "/sell": 4,  #                    the same statements as a bet
    "/balance": 3,  #                 BEGIN, the member's account (the settings cached), ROLLBACK
    "/bet, limits held in Postgres": 5,  # the bet's 4, and the limiter's one statement (autocommit)
}
# What one batch of the event worker may cost, in database round trips, however many streams it takes -----------
WORKER_BUDGETS: dict[str, int] = {
    # lease: BEGIN, the due heads, lease them, their events, re-driven dead ones, COMMIT; then record: BEGIN, lock
    # the streams, move their cursors, drop the caught-up ones, COMMIT (one by one it was 86 for 20 streams)
    "a batch of 20 streams, each with its events": 12,
}
# What one rate-limit check may cost, in Redis calls ---------------------------------------------------------------
REDIS_BUDGETS: dict[str, int] = {
    "a trade's check (the member's and the server's limit)": 1,  # one script call, both keys
    "thirty trades' checks in flight at once": 2,  # the first alone, the 29 that queued behind it in one call
}

_ROUND_TRIPS = ("prepare", "bind_execute", "bind_execute_many", "bind", "execute", "query", "close_statement")
_ROUND_TRIPS += ("copy_in", "copy_out")


class _CountingProtocol:
    """Stands in for an asyncpg connection's protocol: every exchange with the server is counted."""

    def __init__(self, protocol: Any, counter: RoundTrips) -> None:
        self._protocol = protocol
        self._counter = counter

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._protocol, name)
        if name not in _ROUND_TRIPS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._counter.count += 1
            return attribute(*args, **kwargs)

        return counted


@dataclass
class RoundTrips:
    count: int = 0
    seen: list[int] = field(default_factory=list)

    async def of(self, work: Callable[[], Awaitable[Any]]) -> int:
        before = self.count
        await work()
        return self.count - before


@pytest_asyncio.fixture
async def counted(pg_schema: str, signer: Signer) -> AsyncIterator[tuple[Database, RoundTrips]]:
    """A production engine on this session's schema whose connections count their round trips."""
    settings = make_settings(PG_URL, signer.public_key_hex, DATABASE_POOL_SIZE=4)
    database = Database(settings)
    trips = RoundTrips()

    @event.listens_for(database.engine.sync_engine, "connect")
    def _count(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.run_async(lambda conn: conn.execute(f'SET search_path TO "{pg_schema}"'))
        driver = dbapi_conn.driver_connection
        driver._protocol = _CountingProtocol(driver._protocol, trips)

    from tests.conftest import truncate_all

    await truncate_all(database.engine)
    try:
        yield database, trips
    finally:
        await database.dispose()


async def _client(database: Database, signer: Signer, limiter: RateLimiter | None) -> DiscordClient:
    settings = database.settings
    hunch = bootstrap(settings, database=database, rate_limiter=limiter)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, hunch)), base_url="https://h.test")
    return DiscordClient(http, signer, hunch)


def _member(n: int) -> User:
    return User(str(410212090289190000 + n), f"member{n}", f"Member {n}")


async def _measure(client: DiscordClient, trips: RoundTrips) -> dict[str, int]:
    creator = _member(0)
    market = await client.create_market(creator, "Will the budget hold?", liquidity=1000)
    costs: dict[str, int] = {}
    for n in (1, 2, 3):  # warm-up: each statement prepared on the connection, as on a busy server
        await client.command(_member(n), "bet", market=str(market), outcome="Yes", amount=10)
        await client.command(_member(n), "bet", market=str(market), outcome="No", amount=10)
        await client.command(_member(n), "sell", market=str(market), outcome="Yes")
        await client.command(_member(n), "balance")
    first = _member(4)

    async def bet(who: User) -> None:
        reply = await client.command(who, "bet", market=str(market), outcome="Yes", amount=10)
        assert reply.content.startswith("✅"), reply.content

    async def sell() -> None:
        reply = await client.command(first, "sell", market=str(market), outcome="Yes")
        assert reply.content.startswith("✅"), reply.content

    async def balance() -> None:
        assert (await client.command(first, "balance")).ephemeral

    costs["/bet, a member's first"] = await trips.of(lambda: bet(first))
    costs["/bet"] = await trips.of(lambda: bet(first))
    costs["/sell"] = await trips.of(sell)
    costs["/balance"] = await trips.of(balance)
    await client.http.aclose()
    return costs


def _over(costs: dict[str, int], budgets: dict[str, int]) -> dict[str, str]:
    return {what: f"{cost} > {budgets[what]}" for what, cost in costs.items() if cost > budgets[what]}


async def test_database_round_trips_of_each_interaction_stay_within_budget(
    counted: tuple[Database, RoundTrips], signer: Signer
) -> None:
    database, trips = counted
    costs = await _measure(await _client(database, signer, MemoryRateLimiter()), trips)
    assert set(costs) | {"/bet, limits held in Postgres"} == set(BUDGETS)
    assert all(cost > 0 for cost in costs.values()), f"nothing was counted: {costs}"
    assert _over(costs, BUDGETS) == {}, f"over budget: {_over(costs, BUDGETS)} (all costs: {costs})"


async def test_a_bet_with_limits_held_in_postgres_costs_one_statement_more(
    counted: tuple[Database, RoundTrips], signer: Signer
) -> None:
    database, trips = counted
    client = await _client(database, signer, None)
    assert client.hunch is not None
    limiter = client.hunch.rate_limiter
    assert isinstance(limiter, SqlRateLimiter)  # no REDIS_URL: bootstrap puts the limits in Postgres
    # One hit in a hundred also purges expired hits (a transaction of its own): housekeeping, not the bet's cost,
    # and left to chance it made this count flaky.
    limiter._purge_probability = 0
    market = await client.create_market(_member(0), "Limits in Postgres?", liquidity=1000)
    for n in (1, 2):
        await client.command(_member(n), "bet", market=str(market), outcome="Yes", amount=10)

    async def bet() -> None:
        reply = await client.command(_member(1), "bet", market=str(market), outcome="No", amount=10)
        assert reply.content.startswith("✅"), reply.content

    cost = await trips.of(bet)
    await client.http.aclose()
    what = "/bet, limits held in Postgres"
    assert 0 < cost <= BUDGETS[what], f"{what}: {cost} round trips, budget {BUDGETS[what]}"


async def test_a_worker_batch_costs_the_same_round_trips_however_many_streams_it_takes(
    counted: tuple[Database, RoundTrips], signer: Signer
) -> None:
    database, trips = counted
    database.settings = database.settings.model_copy(update={"market_create_rate_limit": 100})
    client = await _client(database, signer, MemoryRateLimiter())
    for n in range(45):  # forty-five markets, each a stream of its own, with events (two or three for some)
        market = await client.create_market(_member(n % 3), f"Will the worker keep up, {n}?", liquidity=1000)
        if n % 2:
            await client.command(_member(n), "bet", market=str(market), outcome="Yes", amount=10)
    await client.http.aclose()
    worker = Worker(Transactions(database), consumers=(), clock=lambda: datetime.now(UTC))
    assert await worker.run_once() >= 20  # warm-up (each statement prepared on the connection): 20 streams
    delivered: list[int] = []

    async def batch() -> None:
        delivered.append(await worker.run_once())

    cost = await trips.of(batch)
    what = "a batch of 20 streams, each with its events"
    assert delivered[0] >= 20, f"the second batch delivered {delivered[0]} events"  # 20 streams of them
    assert 0 < cost <= WORKER_BUDGETS[what], f"{what}: {cost} round trips, budget {WORKER_BUDGETS[what]}"
    while await worker.run_once():  # and the rest of the log goes through, every stream caught up
        pass
    backlog = await Transactions(database).run(lambda uow: uow.queue.backlog())
    assert backlog.pending == 0 and backlog.dead == 0


@pytest_asyncio.fixture
async def counted_redis() -> AsyncIterator[tuple[RedisRateLimiter, list[str]]]:
    import redis.asyncio as redis

    url = "redis://127.0.0.1:6379/15"
    probe = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        await probe.ping()
    except Exception as exc:  # no Redis here
        pytest.skip(f"Redis is not reachable at {url}: {exc}")
    prefix = f"hunch-budget:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(url, prefix=prefix)
    client, _ = limiter._ensure_client()
    calls: list[str] = []
    real = client.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        calls.append(str(args[0]))
        return await real(*args, **options)

    client.execute_command = counting  # type: ignore[method-assign]
    try:
        yield limiter, calls
    finally:
        await limiter.aclose()
        keys = [key async for key in probe.scan_iter(match=prefix + "*")]
        if keys:
            await probe.delete(*keys)
        await probe.aclose()


async def _warm_throttle(limiter: RedisRateLimiter, calls: list[str]) -> RateLimitThrottle:
    limit = Limit(100, 10)
    throttle = RateLimitThrottle(limiter, ThrottleLimits(limit, limit, limit))
    await throttle(Actor(1, 2), ThrottledAction.TRADE)  # warm-up: the script is loaded on the server
    calls.clear()
    return throttle


async def test_redis_calls_of_a_rate_limit_check_stay_within_budget(
    counted_redis: tuple[RedisRateLimiter, list[str]],
) -> None:
    limiter, calls = counted_redis
    throttle = await _warm_throttle(limiter, calls)
    await throttle(Actor(1, 3), ThrottledAction.TRADE)
    what = "a trade's check (the member's and the server's limit)"
    assert 0 < len(calls) <= REDIS_BUDGETS[what], f"{what}: {calls}, budget {REDIS_BUDGETS[what]}"


async def test_redis_calls_of_checks_in_flight_together_stay_within_budget(
    counted_redis: tuple[RedisRateLimiter, list[str]],
) -> None:
    limiter, calls = counted_redis
    throttle = await _warm_throttle(limiter, calls)
    checks = [throttle.checks(Actor(1, 100 + user), ThrottledAction.TRADE) for user in range(30)]
    decisions = await asyncio.gather(*(limiter.hit_all(each) for each in checks))
    assert all(d.allowed for d in decisions)  # answered, not failed open
    what = "thirty trades' checks in flight at once"
    assert 0 < len(calls) <= REDIS_BUDGETS[what], f"{what}: {calls}, budget {REDIS_BUDGETS[what]}"
