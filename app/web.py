"""The HTTP application, for uvicorn (`app.asgi`), Lambda (`app.lambda_handler`) and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.bootstrap import web_app
from app.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from app.bootstrap import Hunch
    from app.endpoint import MetricsExport
    from app.observability.tracing import OtelTracer


def create_app(
    settings: Settings | None = None,
    hunch: Hunch | None = None,
    *,
    worker: bool = False,
    metrics: MetricsExport | None = None,
    tracer: OtelTracer | None = None,
) -> Starlette:
    """Starlette serving Discord's interactions with `hunch`'s dependencies (bootstrapped from `settings` on
    the first request that needs them when none are given); with `worker`, the event worker runs beside it;
    with `metrics`, `GET /metrics` exports what it recorded; with `tracer`, each request is a span."""
    return web_app(settings, hunch, worker=worker, metrics=metrics, tracer=tracer)
