"""Traces, with OpenTelemetry: off unless the standard variables ask for them.

`OTEL_TRACES_EXPORTER=otlp` (or `console`), or an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), turns them on; `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
keeps them off. The SDK reads the rest itself (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
`OTEL_TRACES_SAMPLER`, the exporter's headers and timeouts); spans go over OTLP/HTTP with protobuf (the
official exporter), or with JSON when `OTEL_EXPORTER_OTLP_PROTOCOL=http/json` (`otlp_json.py`, the standard
library only: Lambda's choice, see there).

Only the instrumentors Hunch needs are installed: ASGI (a server span per request), and, once the backend is
wired (`instrument_clients`, from `app.bootstrap.bootstrap`, which imports those clients anyway), asyncpg
(a span per database round trip), redis (the rate limiter's round trips) and httpx (Discord's REST API,
SQS): a PING never imports the database driver or Redis's client, traced or not. Hunch's own spans (the
interaction, each use case, each rate-limit check, each REST call with its retries) come through
`app.telemetry.span`. Nothing of OpenTelemetry is imported unless tracing is on: this module is imported by
`app.bootstrap` only then.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

from app.logging import redact_text

logger = logging.getLogger("hunch.tracing")


class OtelTracer:
    """`app.telemetry.Tracer` on an OpenTelemetry tracer provider."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("hunch")

    def instrument_clients(self) -> None:
        """Spans for each database round trip, Redis command and HTTP call from now on. An HTTP call's URL is
        recorded with any token in it redacted (an interaction's webhook URL holds its token)."""
        for instrumentor in _instrumentors():
            if not instrumentor.is_instrumented_by_opentelemetry:
                hooks = {"request_hook": _scrub_url, "async_request_hook": _scrub_url_async}
                is_http = type(instrumentor).__name__ == "HTTPXClientInstrumentor"
                instrumentor.instrument(tracer_provider=self.provider, **(hooks if is_http else {}))

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, str | int | float | bool]) -> Iterator[None]:
        with self._tracer.start_as_current_span(name, attributes=dict(attributes)):
            yield

    def trace_id(self) -> str | None:
        context = trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None

    def add_to(self, app: Any) -> None:
        """A server span around each request of a Starlette `app` (the health checks and scrapes included)."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        app.add_middleware(OpenTelemetryMiddleware, tracer_provider=self.provider)

    def flush(self) -> None:
        """Send what is buffered now (a Lambda invocation's end: the process may be frozen after it)."""
        self.provider.force_flush()

    def shutdown(self) -> None:
        """Send what is buffered, and take the instrumentors out."""
        for instrumentor in _instrumentors():
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        self.provider.shutdown()


def _scrub_url(span: Any, request: Any) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for key in ("http.url", "url.full"):
        value = attributes.get(key)
        if isinstance(value, str):
            span.set_attribute(key, redact_text(value))


async def _scrub_url_async(span: Any, request: Any) -> None:
    _scrub_url(span, request)


def _instrumentors() -> list[Any]:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    return [AsyncPGInstrumentor(), RedisInstrumentor(), HTTPXClientInstrumentor()]  # type: ignore[no-untyped-call]


def _exporter(environ: Mapping[str, str]) -> SpanExporter:
    kind = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    if kind == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if kind != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER=%s is not supported here; exporting over OTLP/HTTP", kind)
    protocol = (
        environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or ""
    ).strip()
    if protocol == "http/json":
        from app.observability.otlp_json import OtlpJsonSpanExporter

        return OtlpJsonSpanExporter(environ)
    if protocol not in ("", "http/protobuf"):
        logger.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%s is not supported here; exporting http/protobuf", protocol)
    return _LaterOtlp()


class _LaterOtlp(SpanExporter):
    """The OTLP/HTTP exporter, imported (protobuf, requests: tens of ms) when the first spans are sent rather
    than at start-up: in a container that is the batch processor's thread, off every request's path."""

    def __init__(self) -> None:
        self._exporter: SpanExporter | None = None

    def _get(self) -> SpanExporter:
        if self._exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self._exporter = OTLPSpanExporter()
        return self._exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._get().export(spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis) if self._exporter is not None else True

    def shutdown(self) -> None:
        if self._exporter is not None:
            self._exporter.shutdown()


def start_tracing(exporter: SpanExporter | None = None, environ: Mapping[str, str] = os.environ) -> OtelTracer:
    """A tracer provider exporting to `exporter` (each span as it ends: tests), or in batches to what the
    environment names."""
    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or "hunch"})
    provider = TracerProvider(resource=resource)
    if exporter is None:
        provider.add_span_processor(BatchSpanProcessor(_exporter(environ)))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OtelTracer(provider)
