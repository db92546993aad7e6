"""`/readyz` component by component: the database stopped fails it, Redis stopped warns, a database behind
the migrations fails it, a lagging worker or an open breaker warns; the answer is `application/health+json`."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from app.bootstrap import Hunch, bootstrap
from app.domain.actor import Actor
from app.persistence.database import Database
from app.ratelimit import MemoryRateLimiter, RedisRateLimiter
from app.readiness import LAG_WARN_SECONDS
from app.services.markets import CreateMarket
from app.web import create_app
from tests.conftest import make_settings
from tests.support.signing import Signer


def dead_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def ready(hunch: Hunch) -> tuple[int, dict[str, Any]]:
    app = create_app(hunch.settings, hunch)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hunch.test") as http:
        response = await http.get("/readyz")
    assert response.headers["content-type"] == "application/health+json"
    return response.status_code, response.json()


def check(body: dict[str, Any], name: str) -> dict[str, Any]:
    entries = body["checks"][name]
    assert len(entries) == 1
    entry: dict[str, Any] = entries[0]
    datetime.fromisoformat(entry["time"])
    return entry


@pytest_asyncio.fixture
async def make_hunch(app_database: Database, signer: Signer) -> AsyncIterator[Any]:
    built: list[Hunch] = []

    def build(*, rate_limiter: Any = None, clock: Any = None, **overrides: Any) -> Hunch:
        settings = make_settings(app_database.settings.database_url, signer.public_key_hex, **overrides)
        hunch = bootstrap(
            settings, database=app_database, rate_limiter=rate_limiter or MemoryRateLimiter(), clock=clock
        )
        built.append(hunch)
        return hunch

    yield build
    for hunch in built:
        close = getattr(hunch.rate_limiter, "aclose", None)
        if close is not None:
            await close()


async def test_everything_up_passes(make_hunch: Any) -> None:
    status, body = await ready(make_hunch())
    assert status == 200 and body["status"] == "pass"
    database = check(body, "database:responseTime")
    assert database["status"] == "pass" and database["observedUnit"] == "ms" and database["observedValue"] >= 0
    assert check(body, "migrations:revision")["status"] == "pass"
    assert check(body, "worker:lag") | {"time": None} == {
        "componentType": "component",
        "status": "pass",
        "observedValue": 0.0,
        "observedUnit": "s",
        "time": None,
    }
    assert check(body, "discord-api:breaker")["observedValue"] == "unused"
    assert "redis:responseTime" not in body["checks"]  # no Redis configured


async def test_redis_up_passes_and_redis_stopped_warns(make_hunch: Any) -> None:
    up = RedisRateLimiter("redis://127.0.0.1:6379/15")
    try:
        await up.ping()
    except Exception as exc:
        await up.aclose()
        pytest.skip(f"Redis is not reachable: {exc}")
    status, body = await ready(make_hunch(rate_limiter=up))
    assert status == 200 and check(body, "redis:responseTime")["status"] == "pass"

    stopped = RedisRateLimiter(f"redis://127.0.0.1:{dead_port()}/0")
    status, body = await ready(make_hunch(rate_limiter=stopped))
    assert status == 200 and body["status"] == "warn"
    redis = check(body, "redis:responseTime")
    assert redis["status"] == "warn" and redis["output"] == "ConnectionError"
    assert check(body, "database:responseTime")["status"] == "pass"


async def test_database_stopped_fails(signer: Signer) -> None:
    settings = make_settings(f"postgresql://postgres@127.0.0.1:{dead_port()}/test", signer.public_key_hex)
    hunch = bootstrap(settings, rate_limiter=MemoryRateLimiter())
    try:
        status, body = await ready(hunch)
    finally:
        await hunch.aclose()
    assert status == 503 and body["status"] == "fail"
    database = check(body, "database:responseTime")
    assert database["status"] == "fail" and database["output"]
    assert set(body["checks"]) == {"database:responseTime", "discord-api:breaker"}  # nothing else can be asked


async def test_a_database_behind_the_migrations_fails(make_hunch: Any, app_database: Database) -> None:
    async with app_database.engine.begin() as conn:
        head = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        status, body = await ready(make_hunch())
    finally:
        async with app_database.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    assert status == 503 and body["status"] == "fail"
    migrations = check(body, "migrations:revision")
    assert migrations["status"] == "fail" and migrations["observedValue"] == "0001"
    assert head in migrations["output"]


async def test_a_lagging_worker_warns(make_hunch: Any) -> None:
    now = datetime.now(UTC)
    hunch = make_hunch()
    actor = Actor(guild_id=1, user_id=2, interaction_id=3)
    await hunch.use_cases.create_market(actor, CreateMarket(question="Rain?", outcomes=["Yes", "No"]))
    later = make_hunch(clock=lambda: now + timedelta(seconds=LAG_WARN_SECONDS + 30))
    status, body = await ready(later)
    assert status == 200 and body["status"] == "warn"
    lag = check(body, "worker:lag")
    assert lag["status"] == "warn" and lag["observedValue"] >= LAG_WARN_SECONDS
