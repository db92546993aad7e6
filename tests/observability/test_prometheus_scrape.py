"""End to end: the real Prometheus (Debian's `prometheus` package) scrapes a running Hunch (`python -m app
serve`, two uvicorn workers sharing their metrics through PROMETHEUS_MULTIPROC_DIR), and a PromQL query over
what it scraped counts the interactions the server answered. Skips where the binary is absent."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.persistence.migrations import upgrade
from tests.conftest import make_settings
from tests.support.discord_payloads import User, slash_command
from tests.support.signing import Signer

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed (apt-get install prometheus)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def hunch_server(signer: Signer, tmp_path: Path) -> Iterator[str]:
    database_url = f"sqlite:///{tmp_path}/served.sqlite3"
    upgrade(make_settings(database_url, signer.public_key_hex), "head")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PROMETHEUS_"))} | {
        "DATABASE_URL": database_url,
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(server)
        log.close()


@pytest.fixture
def prometheus(hunch_server: str, tmp_path: Path) -> Iterator[str]:
    assert PROMETHEUS is not None
    port = free_port()
    config = tmp_path / "prometheus.yml"
    target = hunch_server.removeprefix("http://")
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: hunch\n    static_configs:\n      - targets: ['{target}']\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        log.close()


def query(prometheus: str, promql: str) -> dict[str, float]:
    """The instant vector `promql` evaluates to, as {the value of its `type` label (or ""): value}."""
    body = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert body["status"] == "success", body
    return {r["metric"].get("type", ""): float(r["value"][1]) for r in body["data"]["result"]}


def test_prometheus_scrapes_the_interaction_count(hunch_server: str, prometheus: str, signer: Signer) -> None:
    ping = b'{"type":1}'
    alice = User("410212090289192960", "alice", "Alice")
    for _ in range(7):  # a new connection each: the two workers share them
        assert httpx.post(f"{hunch_server}/interactions", content=ping, headers=signer.headers(ping)).status_code == 200
    for _ in range(3):
        body = signer.body(slash_command(alice, "balance"))
        answered = httpx.post(f"{hunch_server}/interactions", content=body, headers=signer.headers(body))
        assert answered.status_code == 200 and "balance" in answered.text.lower()
    refused = httpx.post(f"{hunch_server}/interactions", content=ping, headers={})
    assert refused.status_code == 401

    expected = {"ping": 7.0, "application_command": 3.0}
    deadline = time.monotonic() + 30
    found: dict[str, float] = {}
    while time.monotonic() < deadline:
        found = query(prometheus, 'sum by (type) (hunch_interactions_total{job="hunch"})')
        if found == expected:
            break
        time.sleep(0.5)
    assert found == expected
    assert query(prometheus, "sum(hunch_interactions_total)") == {"": 10.0}
    assert query(prometheus, "hunch_signature_failures_total") == {"": 1.0}
    scraped = query(prometheus, 'up{job="hunch"}')
    assert scraped == {"": 1.0}
