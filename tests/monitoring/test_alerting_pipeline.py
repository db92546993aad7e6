"""The whole alerting path with the real binaries (Debian's prometheus and prometheus-alertmanager): a stand-in
Hunch serves failing interactions at /metrics, Prometheus scrapes it and evaluates rules.yml, and Alertmanager
receives the pages with its inhibitions applied. Skips when either binary is absent."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.monitoring.promql import MONITORING
from tests.monitoring.tools import free_port, tool

T = TypeVar("T")


class FailingHunch(BaseHTTPRequestHandler):
    """Each scrape, 100 more interactions answered: 95 ok, 5 errors (a 5% failure rate)."""

    scrapes = 0

    def do_GET(self) -> None:
        FailingHunch.scrapes += 1
        ok, errors = 95 * self.scrapes, 5 * self.scrapes
        body = (
            "# TYPE hunch_interactions_total counter\n"
            f'hunch_interactions_total{{type="application_command",command="bet",outcome="ok"}} {ok}\n'
            f'hunch_interactions_total{{type="application_command",command="bet",outcome="error"}} {errors}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def eventually(probe: Callable[[], T | None], seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(0.5)
    pytest.fail("timed out")


def start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    prometheus_binary = tool("prometheus")
    alertmanager_binary = tool("prometheus-alertmanager", "alertmanager")
    FailingHunch.scrapes = 0
    hunch = ThreadingHTTPServer(("127.0.0.1", 0), FailingHunch)
    threading.Thread(target=hunch.serve_forever, daemon=True).start()
    prometheus_port, alertmanager_port = free_port(), free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(MONITORING / "prometheus" / "rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [
            {"job_name": "hunch", "static_configs": [{"targets": [f"127.0.0.1:{hunch.server_address[1]}"]}]}
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    processes = [
        start(
            [
                alertmanager_binary,
                f"--config.file={MONITORING / 'alertmanager' / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                "--cluster.listen-address=",
            ]
        ),
        start(
            [
                prometheus_binary,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ]
        ),
    ]
    try:
        yield {
            "prometheus": f"http://127.0.0.1:{prometheus_port}",
            "alertmanager": f"http://127.0.0.1:{alertmanager_port}",
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        hunch.shutdown()


def test_failing_interactions_page_through_prometheus_and_alertmanager(stack: dict[str, str]) -> None:
    def ratio() -> float | None:
        query = urllib.parse.quote("hunch:interaction_error_ratio:rate5m")
        result = get(f"{stack['prometheus']}/api/v1/query?query={query}")["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    assert eventually(ratio) == pytest.approx(0.05)

    def firing() -> set[str] | None:
        alerts = get(f"{stack['prometheus']}/api/v1/alerts")["data"]["alerts"]
        names = {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}
        return names if {"HunchErrorBudgetBurnFast", "HunchErrorBudgetBurnSlow"} <= names else None

    # 5% failing is 50 times the budget: both pages and the ticket fire, nothing else does.
    assert eventually(firing) == {"HunchErrorBudgetBurnFast", "HunchErrorBudgetBurnSlow", "HunchErrorBudgetBurnTicket"}

    def received() -> dict[str, list[str]] | None:
        alerts = get(f"{stack['alertmanager']}/api/v2/alerts")
        names = {a["fingerprint"]: a["labels"]["alertname"] for a in alerts}
        inhibited = {
            names[a["fingerprint"]]: sorted(names.get(f, f) for f in a["status"]["inhibitedBy"]) for a in alerts
        }
        return inhibited if len(inhibited) == 3 else None

    # Alertmanager got all three; only the fast burn notifies, the others are inhibited by the pages.
    inhibited = eventually(received)
    assert inhibited["HunchErrorBudgetBurnFast"] == []
    assert inhibited["HunchErrorBudgetBurnSlow"] == ["HunchErrorBudgetBurnFast"]
    assert set(inhibited["HunchErrorBudgetBurnTicket"]) <= {"HunchErrorBudgetBurnFast", "HunchErrorBudgetBurnSlow"}
    assert inhibited["HunchErrorBudgetBurnTicket"]
