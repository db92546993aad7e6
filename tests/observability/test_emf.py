"""CloudWatch Embedded Metric Format: the lines `EmfRecorder` writes follow the specification's structure, and
a Lambda invocation (through `app.lambda_handler` and Mangum) writes them to stdout."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app import telemetry
from app.observability.emf import EmfRecorder
from tests.support.discord_payloads import User, slash_command
from tests.support.signing import Signer
from tests.test_endpoint import PING, _Context, http_api_event

# The specification's structure (docs.aws.amazon.com, "Embedded metric format specification": the JSON schema).
UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]  # fmt: skip
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                    "minItems": 0,
                                    "maxItems": 30,
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"type": "string", "enum": UNITS},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def assert_emf(line: str) -> dict[str, Any]:
    """One line of EMF: the schema, every dimension a top-level string, every metric a top-level number (or a
    list of at most 100)."""
    document: dict[str, Any] = json.loads(line)
    jsonschema.validate(document, EMF_SCHEMA)
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimensions in directive["Dimensions"]:
            for dimension in dimensions:
                assert isinstance(document.get(dimension), str), (dimension, document)
        for metric in directive["Metrics"]:
            found = document[metric["Name"]]
            values = found if isinstance(found, list) else [found]
            assert 1 <= len(values) <= 100
            assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return document


def test_a_flush_writes_one_line_per_label_set_in_the_specifications_shape() -> None:
    out = io.StringIO()
    emf = EmfRecorder(out, clock=lambda: 1_795_000_000.123)
    for outcome in ("ok", "ok", "user_error"):
        emf.record(telemetry.INTERACTIONS, 1, {"type": "application_command", "command": "bet", "outcome": outcome})
    emf.record(telemetry.INTERACTION_DURATION, 0.012, {"type": "application_command", "command": "bet"})
    emf.record(telemetry.INTERACTION_DURATION, 0.020, {"type": "application_command", "command": "bet"})
    emf.record(telemetry.STATEMENT_DURATION, 0.001, {})  # not sent to CloudWatch
    emf.record(telemetry.DISCORD_BREAKER, 2, {})
    emf.record(telemetry.DISCORD_BREAKER, 0, {})
    emf.flush()
    documents = [assert_emf(line) for line in out.getvalue().splitlines()]
    by_metric = {m["Name"]: d for d in documents for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    sent = {"hunch_interactions_total", "hunch_interaction_duration_ms", "hunch_discord_breaker_state"}
    assert set(by_metric) == sent
    ok = next(d for d in documents if d.get("outcome") == "ok")
    assert ok["hunch_interactions_total"] == 2 and ok["command"] == "bet" and ok["service"] == "hunch"
    assert ok["_aws"]["Timestamp"] == 1_795_000_000_123
    assert ok["_aws"]["CloudWatchMetrics"][0] == {
        "Namespace": "Hunch",
        "Dimensions": [["service", "outcome"]],
        "Metrics": [{"Name": "hunch_interactions_total", "Unit": "Count"}],
    }
    assert [d["hunch_interactions_total"] for d in documents if d.get("outcome") == "user_error"] == [1]
    duration = by_metric["hunch_interaction_duration_ms"]
    assert duration["hunch_interaction_duration_ms"] == pytest.approx([12.0, 20.0])
    assert duration["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "hunch_interaction_duration_ms", "Unit": "Milliseconds"}
    ]
    assert duration["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert by_metric["hunch_discord_breaker_state"]["hunch_discord_breaker_state"] == 0  # the last value
    out.truncate(0)
    emf.flush()
    assert out.getvalue() == ""  # nothing new, nothing written


def test_more_than_a_hundred_values_go_on_more_lines() -> None:
    out = io.StringIO()
    emf = EmfRecorder(out)
    for _ in range(250):
        emf.record(telemetry.TRADE_BATCH_SIZE, 3, {})
    emf.flush()
    documents = [assert_emf(line) for line in out.getvalue().splitlines()]
    assert [len(d["hunch_trade_batch_size"]) for d in documents] == [100, 100, 50]


def test_a_lambda_invocation_prints_emf_lines(
    signer: Signer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.lambda_handler as lambda_module
    from app.persistence.migrations import upgrade
    from app.settings import get_settings

    monkeypatch.setenv("DISCORD_PUBLIC_KEY", signer.public_key_hex)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/lambda.sqlite3")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    get_settings.cache_clear()
    upgrade(get_settings(), "head")
    try:
        module = importlib.reload(lambda_module)
        capsys.readouterr()
        assert (
            module.handler(http_api_event(PING, signer.headers(PING), base64_body=False), _Context())["statusCode"]
            == 200
        )
        ping_lines = [assert_emf(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        assert [(d["type"], d["outcome"], d["hunch_interactions_total"]) for d in ping_lines if "outcome" in d] == [
            ("ping", "ok", 1)
        ]

        body = signer.body(slash_command(User("410212090289192960", "alice"), "daily"))
        answered = module.handler(http_api_event(body, signer.headers(body), base64_body=False), _Context())
        assert answered["statusCode"] == 200 and "points" in answered["body"]
        lines = [assert_emf(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        counted = [d for d in lines if "hunch_interactions_total" in d]
        assert [(d["type"], d["command"], d["outcome"]) for d in counted] == [("application_command", "daily", "ok")]
        timed = [d for d in lines if "hunch_interaction_duration_ms" in d]
        assert len(timed) == 1 and 0 < timed[0]["hunch_interaction_duration_ms"] < 10_000
        assert any("hunch_db_transaction_duration_seconds" in d for d in lines)
        assert not any("hunch_db_statement_duration_seconds" in d for d in lines)
    finally:
        get_settings.cache_clear()
