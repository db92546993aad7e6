"""The real ASGI app on a clean database, driven by signed Discord-shaped interactions.

`discord` is a `DiscordClient` on the default settings with an in-process rate limiter; `make_discord(**settings)`
builds one with settings overrides (e.g. `TRADE_RATE_LIMIT=3`) and/or another limiter; `redis_limiter` is a
`RedisRateLimiter` on the real Redis (database 15, a unique key prefix), skipping the test when Redis is down.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.bootstrap import Hunch, bootstrap
from app.discord.api import DiscordApi
from app.persistence.database import Database
from app.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from app.web import create_app
from tests.conftest import make_settings
from tests.support.discord_payloads import DiscordClient, User
from tests.support.signing import Signer

REDIS_URL = "redis://127.0.0.1:6379/15"

MakeDiscord = Callable[..., Awaitable[DiscordClient]]


@pytest_asyncio.fixture
async def make_discord(app_database: Database, signer: Signer) -> AsyncIterator[MakeDiscord]:
    clients: list[httpx.AsyncClient] = []
    hunches: list[Hunch] = []

    async def build(
        *,
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] | None = None,
        discord_api: DiscordApi | None = None,
        **overrides: Any,
    ) -> DiscordClient:
        settings = make_settings(app_database.settings.database_url, signer.public_key_hex, **overrides)
        limiter = rate_limiter or MemoryRateLimiter()
        hunch = bootstrap(settings, database=app_database, rate_limiter=limiter, clock=clock, discord_api=discord_api)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(settings, hunch)), base_url="https://hunch.test"
        )
        clients.append(http)
        hunches.append(hunch)
        return DiscordClient(http, signer, hunch)

    yield build
    for http in clients:
        await http.aclose()
    for hunch in hunches:
        if hunch.discord_api is not None:
            await hunch.discord_api.rest.aclose()


@pytest_asyncio.fixture
async def discord(make_discord: MakeDiscord) -> DiscordClient:
    return await make_discord()


@pytest_asyncio.fixture
async def redis_limiter() -> AsyncIterator[RedisRateLimiter]:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as exc:  # any failure to reach it means: no Redis here
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    prefix = f"hunch-test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(REDIS_URL, prefix=prefix)
    try:
        yield limiter
    finally:
        await limiter.aclose()
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


# -- members ------------------------------------------------------------------------------------------------------


@pytest.fixture
def alice() -> User:
    return User("410212090289192960", "alice", "Alice")


@pytest.fixture
def bob() -> User:
    return User("506759329068613643", "bob", "Bob")


@pytest.fixture
def carol() -> User:
    return User("612345678901234567", "carol", "Carol")


@pytest.fixture
def admin() -> User:
    return User("700000000000000001", "boss", "The Boss", permissions="8")


@pytest.fixture
def manager() -> User:
    return User("700000000000000002", "mod", "Moderator", permissions="32")
