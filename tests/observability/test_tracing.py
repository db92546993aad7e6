"""Traces: off by default (nothing of OpenTelemetry imported), on with the standard variables, and then a
signed interaction is one trace: the request, the interaction, its use case, the rate-limit check and each
database round trip, with the trace id on the log lines written inside it."""

from __future__ import annotations

import http.server
import io
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import telemetry
from app.bootstrap import bootstrap
from app.logging import JsonFormatter
from app.observability import wanted
from app.observability.tracing import OtelTracer, start_tracing
from app.persistence.database import Database
from app.ratelimit import MemoryRateLimiter
from app.web import create_app
from tests.conftest import make_settings, requires_postgres
from tests.support.discord_payloads import DiscordClient, User
from tests.support.signing import Signer

ROOT = Path(__file__).resolve().parents[2]

SERVE_AND_LIST_MODULES = """
import json, sys
from nacl.signing import SigningKey
from tests.support.signing import Signer
from tests.support.discord_payloads import slash_command, User
from tests.test_endpoint import PING, http_api_event, _Context
from app.persistence.migrations import upgrade
from app.settings import get_settings
upgrade(get_settings(), "head")
import app.asgi
import app.lambda_handler as lh
signer = Signer(SigningKey(bytes(range(32))))
body = signer.body(slash_command(User("410212090289192960", "alice"), "daily"))
for payload in (PING, body):
    answer = lh.handler(http_api_event(payload, signer.headers(payload), base64_body=False), _Context())
    assert answer["statusCode"] == 200, answer
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("opentelemetry", "google.protobuf", "requests")))))
"""


def modules_after_serving(tmp_path: Path, **environ: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env |= {
        "DISCORD_PUBLIC_KEY": Signer(SigningKey(bytes(range(32)))).public_key_hex,
        "DATABASE_URL": f"sqlite:///{tmp_path}/traced.sqlite3",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    } | environ
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_with_tracing_off_nothing_of_opentelemetry_is_imported(tmp_path: Path) -> None:
    assert modules_after_serving(tmp_path) == []
    assert modules_after_serving(tmp_path, OTEL_SDK_DISABLED="true", OTEL_TRACES_EXPORTER="otlp") == []
    assert modules_after_serving(tmp_path, OTEL_TRACES_EXPORTER="none") == []


def test_with_tracing_on_the_sdk_and_the_instrumentors_are_loaded(tmp_path: Path) -> None:
    found = modules_after_serving(
        tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9/", OTEL_BSP_SCHEDULE_DELAY="60000"
    )
    assert {"opentelemetry.sdk.trace", "opentelemetry.instrumentation.asyncpg"} <= set(found)


def test_over_http_json_a_traced_lambda_imports_neither_protobuf_nor_requests(tmp_path: Path) -> None:
    found = modules_after_serving(
        tmp_path,
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/json",
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
    )
    assert "opentelemetry.sdk.trace" in found
    assert not [m for m in found if m.startswith(("google.protobuf", "requests", "opentelemetry.exporter"))], found


def test_the_standard_variables_decide() -> None:
    assert not wanted({})
    assert wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert not wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})


@pytest.fixture
def traced() -> Iterator[tuple[OtelTracer, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    tracer = start_tracing(exporter)
    telemetry.install(telemetry.current_recorder(), tracer)
    try:
        yield tracer, exporter
    finally:
        tracer.shutdown()


@requires_postgres
async def test_an_interaction_is_one_trace_down_to_its_database_round_trips(
    traced: tuple[OtelTracer, InMemorySpanExporter], app_database: Database, signer: Signer
) -> None:
    tracer, exporter = traced
    settings = make_settings(app_database.settings.database_url, signer.public_key_hex)
    hunch = bootstrap(settings, database=app_database, rate_limiter=MemoryRateLimiter())
    app = create_app(settings, hunch, tracer=tracer)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(JsonFormatter())
    interactions = logging.getLogger("hunch.interactions")
    interactions.addHandler(handler)
    level = interactions.level
    interactions.setLevel(logging.INFO)
    alice = User("410212090289192960", "alice", "Alice")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hunch.test") as http:
            discord = DiscordClient(http, signer, hunch)
            await discord.command(alice, "market create", question="Rain?", outcomes="Yes, No")
            exporter.clear()
            log.truncate(0)
            log.seek(0)
            assert "Bought" in (await discord.command(alice, "bet", market="1", outcome="Yes", amount=10)).content
    finally:
        interactions.removeHandler(handler)
        interactions.setLevel(level)

    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert {"interaction", "use_case trade.buy", "rate_limit.check"} <= set(names), names
    request = [s for s in spans if s.parent is None]
    assert len(request) == 1 and request[0].name.startswith("POST")
    trace_ids = {span.context.trace_id for span in spans}
    assert trace_ids == {request[0].context.trace_id}
    by_id = {span.context.span_id: span for span in spans}

    def ancestors(span: object) -> list[str]:
        found = []
        parent = getattr(span, "parent", None)
        while parent is not None:
            found.append(by_id[parent.span_id].name)
            parent = by_id[parent.span_id].parent
        return found

    database = [s for s in spans if (s.attributes or {}).get("db.system") == "postgresql"]
    assert database, names
    assert any("use_case trade.buy" in ancestors(s) for s in database)
    assert all("interaction" in ancestors(s) for s in database)
    interaction = next(s for s in spans if s.name == "interaction")
    assert dict(interaction.attributes or {}) == {"type": "application_command", "command": "bet"}

    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.strip()]
    assert lines and all(line["trace_id"] == format(request[0].context.trace_id, "032x") for line in lines)


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_PATCH(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return None


async def test_an_interaction_token_in_a_url_never_reaches_a_span(
    traced: tuple[OtelTracer, InMemorySpanExporter],
) -> None:
    tracer, exporter = traced
    tracer.instrument_clients()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTpzZWNyZXQ"
    try:
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{server.server_port}/webhooks/1/{token}/messages/@original"
            assert (await client.patch(url, json={"content": "x"})).status_code == 200
    finally:
        server.shutdown()
    spans = [s for s in exporter.get_finished_spans() if s.kind.name == "CLIENT"]
    assert spans, exporter.get_finished_spans()
    for span in spans:
        recorded = json.dumps({"name": span.name, **dict(span.attributes or {})})
        assert token not in recorded and "[redacted]" in recorded, recorded
