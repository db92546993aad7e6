"""`python -m app worker` and `python -m app scheduler` in processes of their own export their metrics on a
port of their own (`--metrics-port`, or `METRICS_PORT`), scraped here as Prometheus scrapes them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey
from prometheus_client.parser import text_string_to_metric_families

from app.cli import build_parser, database_is_local, serve_workers
from app.domain.actor import Actor
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions
from app.services.markets import CreateMarket
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.conftest import make_settings
from tests.observability.test_prometheus_scrape import free_port, stop
from tests.support.throttle import no_throttle

ROOT = Path(__file__).resolve().parents[1]
GUILD = 900000000000000002


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "hunch.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


async def _stale_market_and_a_trade(database_url: str) -> None:
    """A market traded on, closed 26 days ago, its creator reminded 12 days ago and never resolved: the next
    pass refunds it."""
    now = [datetime.now(UTC) - timedelta(days=30)]
    database = Database(make_settings(database_url, "0" * 64))
    transactions = Transactions(database, lambda: now[0])
    use_cases = UseCases(transactions, TradingDesk(transactions), no_throttle)
    try:
        actor = Actor(GUILD, 11, interaction_id=1_700_000_000_000_000_001)
        await use_cases.create_market(actor, CreateMarket("Stale?", ["A", "B"], closes_in=timedelta(days=1)))
        await use_cases.buy(Actor(GUILD, 12, interaction_id=1_700_000_000_000_000_002), 1, 0, 50)
        now[0] += timedelta(days=4)
        assert await use_cases.close_expired_markets(now[0]) == [(GUILD, 1)]
        now[0] += timedelta(days=13, hours=12)  # a day before its refund (the default: 14 days after closing)
        assert await use_cases.remind_refunds(now[0]) == 1
    finally:
        await database.dispose()


def _scrape(
    process: subprocess.Popen[bytes], url: str, sample: str, labels: dict[str, str], seconds: float = 60
) -> dict[str, float]:
    """Every sample of the scrape once `sample{labels}` is at least 1 (the process got there)."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline and process.poll() is None:
        try:
            last = httpx.get(url, timeout=2).text
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(last)
            for s in family.samples
        }
        if samples.get((sample, tuple(sorted(labels.items()))), 0) >= 1:
            return {f"{name}{dict(found) or ''}": value for (name, found), value in samples.items()}
        time.sleep(0.2)
    raise AssertionError(f"{sample}{labels} never reached 1 at {url} (exit {process.poll()}); scraped:\n{last[:3000]}")


@pytest.fixture
def run_hunch(database_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(*argv: str, **env: str) -> subprocess.Popen[bytes]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PROMETHEUS_", "METRICS_"))}
        environment |= {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "REDIS_URL": "", **env}
        log = (tmp_path / f"{argv[0]}.log").open("wb")
        command = [sys.executable, "-m", "app", *argv]
        started.append(subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT))
        return started[-1]

    yield run
    for process in started:
        stop(process)


async def test_the_scheduler_exports_the_refunds_it_makes(
    database_url: str, run_hunch: Callable[..., subprocess.Popen[bytes]]
) -> None:
    await _stale_market_and_a_trade(database_url)
    port = free_port()
    scheduler = run_hunch("scheduler", "--interval", "3600", "--metrics-port", str(port))
    scraped = _scrape(scheduler, f"http://127.0.0.1:{port}/metrics", "hunch_markets_cancelled_total", {})
    assert scraped["hunch_markets_cancelled_total"] == 1
    assert scraped["hunch_db_transaction_duration_seconds_count"] >= 1  # the pass's own transactions


async def test_the_worker_exports_its_deliveries_on_metrics_port_and_keeps_them_out_of_the_shared_directory(
    database_url: str, run_hunch: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    await _stale_market_and_a_trade(database_url)
    port, shared = free_port(), tmp_path / "serve-metrics"
    shared.mkdir()
    worker = run_hunch("worker", METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(shared))
    labels = {"consumer": "live_messages", "outcome": "ok"}
    scraped = _scrape(worker, f"http://127.0.0.1:{port}/metrics", "hunch_worker_deliveries_total", labels)
    assert scraped["hunch_worker_deliveries_total{'consumer': 'live_messages', 'outcome': 'ok'}"] >= 3
    assert scraped["hunch_events_dead_total"] == 0  # exported, so HunchDeadEvents can see it move
    assert list(shared.iterdir()) == []  # its own registry: `serve`'s /metrics does not count it again


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_the_metrics_port_is_an_option_of_the_processes_without_an_http_server(command: str) -> None:
    assert build_parser().parse_args([command, "--metrics-port", "9100"]).metrics_port == 9100
    assert build_parser().parse_args([command]).metrics_port is None  # then METRICS_PORT; 0 or unset: none


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("postgresql://postgres@127.0.0.1:5432/hunch", True),
        ("postgresql://postgres@localhost/hunch", True),
        ("postgresql://postgres@[::1]:5432/hunch", True),
        ("postgresql:///hunch", True),
        ("postgresql://postgres@/hunch?host=/var/run/postgresql", True),
        ("postgresql://hunch:secret@hunch.cluster-abc.eu-west-1.rds.amazonaws.com:5432/hunch", False),
        ("postgresql://postgres@10.0.3.7/hunch", False),
    ],
)
def test_a_database_on_this_machine_is_told_from_one_elsewhere(url: str, local: bool) -> None:
    assert database_is_local(url) is local


@pytest.mark.parametrize(
    ("url", "cpus", "environment", "workers"),
    [
        ("postgresql://postgres@127.0.0.1/hunch", 2, None, 1),  # Postgres takes the other CPU
        ("postgresql://postgres@127.0.0.1/hunch", 8, None, 4),
        ("postgresql://postgres@127.0.0.1/hunch", 1, None, 1),
        ("postgresql://hunch@db.internal/hunch", 2, None, 2),
        ("postgresql://hunch@db.internal/hunch", 16, None, 4),
        ("postgresql://postgres@127.0.0.1/hunch", 2, "3", 3),  # WEB_CONCURRENCY wins
    ],
)
def test_serve_leaves_a_local_postgres_half_the_cpus(
    monkeypatch: pytest.MonkeyPatch, signing_key: SigningKey, url: str, cpus: int, environment: str | None, workers: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    if environment is None:
        monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("WEB_CONCURRENCY", environment)
    settings = make_settings(url, signing_key.verify_key.encode().hex())
    assert serve_workers(settings, None) == workers
    assert serve_workers(settings, 5) == 5  # --workers wins over everything
