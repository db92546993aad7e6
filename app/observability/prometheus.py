"""The container's exporter: prometheus-client, in multiprocess mode when uvicorn runs several workers.

`python -m app serve` points `PROMETHEUS_MULTIPROC_DIR` at an empty directory before it starts the workers,
so each worker writes its values to files there and the one that answers a scrape adds them all up. Uvicorn
tells nobody when a worker dies, so each scrape first forgets the live gauges of processes that are gone
(their counters stay: a counter must never go back).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.telemetry import VOCABULARY, Metric

_PID_FILE = re.compile(r"_(\d+)\.db$")
MAX_SERIES_CACHED = 10_000  # label sets remembered (the vocabulary's labels are bounded far below this)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class PrometheusRecorder:
    """`app.telemetry.Recorder` on prometheus-client; `render()` is the body of `GET /metrics`."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._families: dict[str, Any] = {}
        self._series: dict[tuple[Any, ...], Any] = {}
        for metric in VOCABULARY:
            self._families[metric.name] = _family(metric, self.registry)

    def record(self, metric: Metric, value: float, labels: Mapping[str, str]) -> None:
        if labels:
            # `labels()` validates and locks on every call; a series, once made, is looked up by its labels.
            key = (metric.name, *labels.items())
            series = self._series.get(key)
            if series is None:
                if len(self._series) >= MAX_SERIES_CACHED:
                    self._series.clear()
                series = self._series[key] = self._families[metric.name].labels(**labels)
        else:
            series = self._families[metric.name]
        if metric.kind == "counter":
            series.inc(value)
        elif metric.kind == "histogram":
            series.observe(value)
        else:
            series.set(value)

    def serve(self, host: str, port: int) -> None:
        """Answer scrapes of this process's registry on `host:port` (any path), from a daemon thread: for the
        processes that have no HTTP server of their own (`python -m app worker`, `python -m app scheduler`)."""
        start_http_server(port, addr=host, registry=self.registry)

    def render(self) -> bytes:
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        forget_dead_processes(directory)
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry)


def _family(metric: Metric, registry: CollectorRegistry) -> Any:
    if metric.kind == "counter":
        return Counter(metric.name.removesuffix("_total"), metric.help, metric.labels, registry=registry)
    if metric.kind == "histogram":
        return Histogram(metric.name, metric.help, metric.labels, registry=registry, buckets=metric.buckets)
    return Gauge(metric.name, metric.help, metric.labels, registry=registry, multiprocess_mode=metric.gauge_mode)


def forget_dead_processes(directory: str) -> list[int]:
    """`mark_process_dead` for every process that left files in `directory` and no longer runs."""
    gone: set[int] = set()
    for name in os.listdir(directory):
        found = _PID_FILE.search(name)
        if found is not None and not _alive(int(found.group(1))):
            gone.add(int(found.group(1)))
    for pid in gone:
        prometheus_multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
    return sorted(gone)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True
