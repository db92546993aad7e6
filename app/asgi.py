"""The ASGI application for uvicorn (`app.asgi:app`)."""

import gc

from app.bootstrap import prometheus_metrics, tracing
from app.logging import configure_logging
from app.settings import get_settings
from app.web import create_app

# A server process allocates many short-lived objects per request; with the default thresholds the
# collector's full passes over the whole heap were the tail of the bet benchmark (p99 58-105 ms over
# three runs against 52-55 ms with these).
gc.set_threshold(20_000, 50, 100)

settings = get_settings()
configure_logging(settings.log_level)
# A container runs the worker beside the endpoint (`python -m app serve --no-worker` turns it off).
app = create_app(settings, worker=settings.worker_in_process, metrics=prometheus_metrics(), tracer=tracing())
