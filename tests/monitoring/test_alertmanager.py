"""infra/monitoring/alertmanager: the configuration (checked by amtool), its routes, the inhibitions
(checked against a real Alertmanager, Debian's prometheus-alertmanager) and render.sh, which fills in the
Discord webhook URL at start so that no secret is committed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring.promql import MONITORING
from tests.monitoring.tools import check, free_port, run, tool

ALERTMANAGER = MONITORING / "alertmanager"
CONFIG = ALERTMANAGER / "alertmanager.yml"
RENDER = ALERTMANAGER / "render.sh"
PLACEHOLDER_URL = "https://discord-webhook-url.invalid/replaced-at-start"
WEBHOOK = "https://discord.com/api/webhooks/123456789012345678/sEcReT-t0ken&thread|x"


def render(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "alertmanager.yml"
    variables = {"PATH": os.environ["PATH"], "ALERTMANAGER_TEMPLATE": str(CONFIG), "ALERTMANAGER_CONFIG": str(out)}
    result = subprocess.run(
        ["sh", str(RENDER), sys.executable, "-c", "pass"],
        env={**variables, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result, out


def routed_to(*labels: str) -> str:
    result = run([tool("amtool"), "config", "routes", "test", f"--config.file={CONFIG}", *labels])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_amtool_checks_the_configuration() -> None:
    output = check([tool("amtool"), "check-config", str(CONFIG)])
    assert "SUCCESS" in output and "2 receivers" in output


def test_pages_go_to_discord_and_email_tickets_to_email() -> None:
    assert routed_to("alertname=HunchErrorBudgetBurnFast", "severity=page", "service=hunch") == "discord-and-email"
    assert routed_to("alertname=HunchDeadEvents", "severity=ticket", "service=hunch") == "email"
    assert routed_to("alertname=Anything") == "email"


def test_no_webhook_is_committed_and_discord_is_native() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    [discord] = receivers["discord-and-email"]["discord_configs"]
    assert discord["webhook_url"] == PLACEHOLDER_URL
    assert "discord.com/api/webhooks" not in CONFIG.read_text()
    assert receivers["email"]["email_configs"] and receivers["discord-and-email"]["email_configs"]


def test_render_fills_in_the_webhook_from_the_environment(tmp_path: Path) -> None:
    result, out = render(tmp_path, DISCORD_WEBHOOK_URL=WEBHOOK, ALERT_EMAIL_TO="oncall@example.com")
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(out.read_text())
    receivers = {receiver["name"]: receiver for receiver in rendered["receivers"]}
    assert receivers["discord-and-email"]["discord_configs"][0]["webhook_url"] == WEBHOOK
    assert {c["to"] for r in receivers.values() for c in r["email_configs"]} == {"oncall@example.com"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, "the rendered file holds a credential"
    assert "SUCCESS" in check([tool("amtool"), "check-config", str(out)])


def test_render_reads_the_webhook_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "webhook"
    secret.write_text(WEBHOOK)
    result, out = render(tmp_path, DISCORD_WEBHOOK_URL_FILE=str(secret))
    assert result.returncode == 0, result.stderr
    assert WEBHOOK in out.read_text() and "ops@hunch.invalid" in out.read_text()


def test_render_without_a_webhook_warns_and_keeps_email(tmp_path: Path) -> None:
    result, out = render(tmp_path)
    assert result.returncode == 0 and "DISCORD_WEBHOOK_URL is not set" in result.stderr
    assert PLACEHOLDER_URL in out.read_text()


# --- inhibition, by a real Alertmanager ------------------------------------------------------------


def api(base: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = tool("prometheus-alertmanager", "alertmanager")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={CONFIG}",
            f"--storage.path={tmp_path}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v2"
    try:
        for _ in range(100):
            try:
                api(base, "/status")
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"alertmanager exited: {process.stderr.read() if process.stderr else ''}")
                time.sleep(0.1)
        else:
            pytest.fail("alertmanager did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def fire(base: str, *alerts: dict[str, str]) -> dict[str, list[str]]:
    """Post firing alerts; return each alert name with the names of the alerts that inhibit it, once that has
    settled: Alertmanager's inhibitor takes in new alerts asynchronously, so a listing right after the post can
    show an alert before the alert that inhibits it has been taken in (seen on a loaded machine)."""
    api(base, "/alerts", [{"labels": labels} for labels in alerts])
    names = {labels["alertname"] for labels in alerts}
    deadline = time.monotonic() + 5
    seen: dict[str, list[str]] = {}
    while True:
        listed = api(base, "/alerts?active=true&inhibited=true&silenced=true&unprocessed=true")
        by_fingerprint = {a["fingerprint"]: a["labels"]["alertname"] for a in listed}
        now = {
            a["labels"]["alertname"]: sorted(by_fingerprint.get(f, f) for f in a["status"]["inhibitedBy"])
            for a in listed
        }
        if (now == seen and set(now) == names) or time.monotonic() > deadline:
            return now
        seen = now
        time.sleep(0.5)


def alert(name: str, severity: str, **labels: str) -> dict[str, str]:
    return {"alertname": name, "severity": severity, "service": "hunch", **labels}


def test_hunch_down_inhibits_every_other_hunch_alert(alertmanager: str) -> None:
    inhibited = fire(
        alertmanager,
        alert("HunchDown", "page", job="hunch"),
        alert("HunchErrorBudgetBurnFast", "page", slo="interaction-success"),
        alert("HunchDeadEvents", "ticket"),
    )
    assert inhibited == {
        "HunchDown": [],
        "HunchErrorBudgetBurnFast": ["HunchDown"],
        "HunchDeadEvents": ["HunchDown"],
    }


def test_a_page_inhibits_the_ticket_of_its_objective_only(alertmanager: str) -> None:
    inhibited = fire(
        alertmanager,
        alert("HunchErrorBudgetBurnSlow", "page", slo="interaction-success"),
        alert("HunchErrorBudgetBurnTicket", "ticket", slo="interaction-success"),
        alert("HunchDeadEvents", "ticket"),
    )
    assert inhibited == {
        "HunchErrorBudgetBurnSlow": [],
        "HunchErrorBudgetBurnTicket": ["HunchErrorBudgetBurnSlow"],
        "HunchDeadEvents": [],
    }


def test_the_fast_burn_inhibits_the_slow_one(alertmanager: str) -> None:
    inhibited = fire(
        alertmanager,
        alert("HunchErrorBudgetBurnFast", "page", slo="interaction-success"),
        alert("HunchErrorBudgetBurnSlow", "page", slo="interaction-success"),
    )
    assert inhibited == {"HunchErrorBudgetBurnFast": [], "HunchErrorBudgetBurnSlow": ["HunchErrorBudgetBurnFast"]}


def test_the_database_down_inhibits_what_it_explains(alertmanager: str) -> None:
    inhibited = fire(
        alertmanager,
        alert("HunchDatabaseUnavailable", "page"),
        alert("HunchErrorBudgetBurnFast", "page", slo="interaction-success"),
        alert("HunchInteractionLatencyHigh", "page"),
        alert("HunchWorkerLagging", "ticket"),
    )
    assert inhibited == {
        "HunchDatabaseUnavailable": [],
        "HunchErrorBudgetBurnFast": ["HunchDatabaseUnavailable"],
        "HunchInteractionLatencyHigh": ["HunchDatabaseUnavailable"],
        "HunchWorkerLagging": [],
    }


def test_a_running_alertmanager_loads_the_discord_receiver(alertmanager: str) -> None:
    original = api(alertmanager, "/status")["config"]["original"]
    assert "discord_configs" in original and "<secret>" in original
