"""The IETF health-check draft's body: the worst check is the whole, `fail` alone answers 503."""

from __future__ import annotations

from datetime import UTC, datetime

from app.health import Check, report

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_the_worst_check_decides() -> None:
    up = Check("database:responseTime", "pass", "datastore", 1.5, "ms", time=NOW)
    slow = Check("worker:lag", "warn", "component", 90.0, "s", time=NOW)
    down = Check("redis:responseTime", "fail", "datastore", output="ConnectionError", time=NOW)
    assert report([up])[0] == 200 and report([up])[1]["status"] == "pass"
    assert report([up, slow])[0] == 200 and report([up, slow])[1]["status"] == "warn"
    status, body = report([up, slow, down])
    assert status == 503 and body["status"] == "fail" and body["output"] == "worker:lag, redis:responseTime"
    assert body["checks"]["database:responseTime"] == [
        {
            "componentType": "datastore",
            "status": "pass",
            "observedValue": 1.5,
            "observedUnit": "ms",
            "time": "2026-12-06T00:00:00.000+00:00",
        }
    ]
    assert body["checks"]["redis:responseTime"][0]["output"] == "ConnectionError"


def test_no_checks_pass() -> None:
    assert report([])[1]["status"] == "pass"
