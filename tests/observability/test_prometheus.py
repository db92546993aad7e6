"""`GET /metrics` after signed interactions through the real app: prometheus-client's parser reads it, and the
series count what happened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from app.bootstrap import bootstrap, prometheus_metrics
from app.observability.prometheus import forget_dead_processes
from app.persistence.database import Database
from app.ratelimit import MemoryRateLimiter
from app.web import create_app
from tests.conftest import make_settings
from tests.support.discord_payloads import DiscordClient, User
from tests.support.signing import Signer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def alice() -> User:
    return User("410212090289192960", "alice", "Alice")


@pytest.fixture
def bob() -> User:
    return User("506759329068613643", "bob", "Bob")


@pytest_asyncio.fixture
async def served(app_database: Database, signer: Signer) -> AsyncIterator[DiscordClient]:
    settings = make_settings(app_database.settings.database_url, signer.public_key_hex)
    hunch = bootstrap(settings, database=app_database, rate_limiter=MemoryRateLimiter())
    app = create_app(settings, hunch, metrics=prometheus_metrics())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hunch.test") as http:
        yield DiscordClient(http, signer, hunch)


async def test_metrics_count_the_interactions_answered(served: DiscordClient, alice: User, bob: User) -> None:
    ping = b'{"type":1}'
    assert (await served.post_body(ping)).status_code == 200
    unsigned = await served.post_body(ping, served.signer.headers(ping) | {"X-Signature-Ed25519": "00" * 64})
    assert unsigned.status_code == 401
    malformed = json.dumps({"type": 2, "id": "not a snowflake", "token": "t", "data": {}}).encode()
    assert (await served.post_body(malformed)).status_code == 400
    assert "Market #1" in (await served.command(alice, "market create", question="Rain?", outcomes="Yes, No")).text
    assert "Bought" in (await served.command(bob, "bet", market="1", outcome="Yes", amount=100)).content
    assert "Bought" in (await served.command(bob, "bet", market="1", outcome="No", amount=50)).content
    too_much = await served.command(bob, "bet", market="1", outcome="No", amount=1_000_000)
    assert "Bought" not in too_much.content

    response = await served.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = parse(response.text)

    counted = "hunch_interactions_total"
    assert value(samples, counted, type="ping", command="other", outcome="ok") == 1
    assert value(samples, counted, type="application_command", command="bet", outcome="ok") == 2
    assert value(samples, counted, type="application_command", command="bet", outcome="user_error") == 1
    assert value(samples, counted, type="application_command", command="market create", outcome="ok") == 1
    assert value(samples, counted, type="application_command", command="other", outcome="bad_request") == 1
    assert sum(v for (name, _), v in samples.items() if name == counted) == 6
    assert value(samples, "hunch_signature_failures_total") == 1
    timed = "hunch_interaction_duration_seconds_count"
    assert value(samples, timed, type="application_command", command="bet") == 3
    bucket = "hunch_interaction_duration_seconds_bucket"
    assert value(samples, bucket, type="application_command", command="bet", le="+Inf") == 3
    assert value(samples, bucket, type="application_command", command="bet", le="3.0") is not None

    assert value(samples, "hunch_bets_total", side="buy") == 2
    assert value(samples, "hunch_points_traded_total") == 150
    assert value(samples, "hunch_markets_created_total") == 1
    assert value(samples, "hunch_markets_resolved_total") == 0
    assert value(samples, "hunch_active_members", window="1h") == 1
    assert value(samples, "hunch_active_members", window="24h") == 1
    assert value(samples, "hunch_outbox_lag_seconds") is not None
    batches = value(samples, "hunch_trade_batch_size_count")
    assert batches is not None and batches >= 2
    assert (value(samples, "hunch_db_transaction_duration_seconds_count") or 0) >= 4
    assert (value(samples, "hunch_db_statement_duration_seconds_count") or 0) >= 10
    assert value(samples, "hunch_db_slow_statements_total") == 0


async def test_settlements_undone_subsidies_and_season_starts_are_counted_as_they_happen(
    served: DiscordClient, alice: User, bob: User
) -> None:
    admin = User("700000000000000001", "boss", "The Boss", permissions="8")
    await served.command(alice, "market create", question="Rain?", outcomes="Yes, No")
    await served.command(alice, "market create", question="Snow?", outcomes="Yes, No")
    await served.command(bob, "bet", market="1", outcome="Yes", amount=100)
    assert "liquidity" in (await served.command(bob, "market subsidize", market="1", amount=250)).content
    assert "resolved" in (await served.command(alice, "market resolve", market="1", outcome="Yes")).text
    assert "unresolved" in (await served.command(alice, "market unresolve", market="1")).text
    assert "resolved" in (await served.command(alice, "market resolve", market="1", outcome="No")).text
    await served.command(alice, "market cancel", market="2")
    await served.command(alice, "market unresolve", market="2")
    assert "starts now" in (await served.command(admin, "admin season start", name="Spring")).text

    samples = parse((await served.http.get("/metrics")).text)
    assert value(samples, "hunch_markets_resolved_total") == 2  # each resolution, the second after the unresolve
    assert value(samples, "hunch_markets_unresolved_total", undone="resolved") == 1  # so one market stays resolved
    assert value(samples, "hunch_markets_cancelled_total") == 1
    assert value(samples, "hunch_markets_unresolved_total", undone="cancelled") == 1
    assert value(samples, "hunch_subsidies_total") == 1
    assert value(samples, "hunch_points_subsidized_total") == 250
    assert value(samples, "hunch_seasons_started_total") == 1


async def test_no_label_holds_an_id(served: DiscordClient, alice: User) -> None:
    await served.command(alice, "market create", question="Rain?", outcomes="Yes, No")
    market = await served.command(alice, "market show", market="1")
    await served.click(alice, market.buttons[0]["custom_id"], on=market)
    samples = parse((await served.http.get("/metrics")).text)
    labels = {v for (_, pairs), _ in samples.items() for _, v in pairs}
    assert not any(alice.id in label or (label.isdigit() and len(label) > 6) for label in labels), labels
    assert value(samples, "hunch_interactions_total", type="message_component", command="buy", outcome="ok") == 1


def test_dead_workers_live_gauges_are_forgotten_and_their_counts_kept(tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    alive = os.getpid()
    for name in (f"gauge_livesum_{dead}.db", f"counter_{dead}.db", f"histogram_{dead}.db", f"gauge_livesum_{alive}.db"):
        (tmp_path / name).write_bytes(b"")
    assert forget_dead_processes(str(tmp_path)) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"counter_{dead}.db",
        f"gauge_livesum_{alive}.db",
        f"histogram_{dead}.db",
    ]
