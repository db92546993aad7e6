"""Exporters of Hunch's measurements: Prometheus text (the container), CloudWatch EMF (Lambda), and traces.

This package's own module imports nothing but the standard library: whether tracing is wanted is decided here
without importing OpenTelemetry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
