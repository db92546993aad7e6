"""The standard-library OTLP/HTTP JSON exporter against a real HTTP receiver: the request a collector gets."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from app.observability.otlp_json import OtlpJsonSpanExporter
from app.observability.tracing import start_tracing


class Receiver(http.server.BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, dict[str, str], dict[str, Any]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_spans_reach_the_receiver_in_otlps_json_mapping(receiver: str) -> None:
    environ = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver + "/",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s%3Dcret,tenant=hunch",
        "OTEL_SERVICE_NAME": "hunch-test",
    }
    tracer = start_tracing(OtlpJsonSpanExporter(environ), environ)
    try:
        outer = tracer.span("interaction", {"type": "application_command", "retries": 2, "ok": True})
        with outer, tracer.span("use_case trade.buy", {"share": 0.5}):
            pass
    finally:
        tracer.shutdown()
    assert [path for path, _, _ in Receiver.requests] == ["/v1/traces", "/v1/traces"]  # one per span (simple)
    _, headers, _ = Receiver.requests[0]
    assert headers["content-type"] == "application/json"
    assert headers["x-api-key"] == "s=cret" and headers["tenant"] == "hunch"
    spans = [
        (resource, span)
        for _, _, body in Receiver.requests
        for resource in body["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    resource = {a["key"]: a["value"] for a in spans[0][0]["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "hunch-test"}
    inner, outer = (span for _, span in spans)
    assert outer["name"] == "interaction" and inner["name"] == "use_case trade.buy"
    assert len(outer["traceId"]) == 32 and len(outer["spanId"]) == 16
    assert inner["traceId"] == outer["traceId"] and inner["parentSpanId"] == outer["spanId"]
    assert "parentSpanId" not in outer
    assert outer["kind"] == 1  # SPAN_KIND_INTERNAL
    assert int(outer["endTimeUnixNano"]) >= int(inner["endTimeUnixNano"]) >= int(inner["startTimeUnixNano"]) > 0
    assert {a["key"]: a["value"] for a in outer["attributes"]} == {
        "type": {"stringValue": "application_command"},
        "retries": {"intValue": "2"},
        "ok": {"boolValue": True},
    }
    assert inner["attributes"] == [{"key": "share", "value": {"doubleValue": 0.5}}]


def test_a_receiver_that_is_gone_fails_the_export_without_raising() -> None:
    exporter = OtlpJsonSpanExporter({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces"})
    assert exporter.endpoint == "http://127.0.0.1:9/v1/traces"
    tracer = start_tracing(exporter, {})
    try:
        with tracer.span("lost", {}):
            pass
    finally:
        tracer.shutdown()
