"""Lambda's exporter: CloudWatch Embedded Metric Format, one JSON line per group of series, on stdout.

An invocation's measurements are gathered in memory and written when it ends (`flush`), so a request costs
a few dictionary updates and one line or a handful, whatever it measured. Each line follows the EMF
specification: `_aws.Timestamp`, `_aws.CloudWatchMetrics[{Namespace, Dimensions, Metrics[{Name, Unit}]}]`,
and the values as top-level members; a label that is no dimension is a plain property of the line (searchable
in Logs Insights, no extra cost in CloudWatch). Counters are summed, histograms keep their values (at most
100 per line, as the specification allows), gauges keep the last value. The interactions' server time is sent
in milliseconds as `hunch_interaction_duration_ms`, which CloudWatch alarms take percentiles of.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from app.telemetry import INTERACTION_DURATION, Metric

NAMESPACE = "Hunch"
SERVICE = "hunch"
MAX_VALUES = 100  # per metric per line
MAX_METRICS = 100  # per line

# (dimension sets, the labels) -> metric -> (its name and unit in CloudWatch, its values)
_Key = tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, str], ...]]


class EmfRecorder:
    """`app.telemetry.Recorder` writing EMF lines to `stream` (stdout) at each `flush`."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        namespace: str = NAMESPACE,
        service: str = SERVICE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._stream = stream
        self.namespace = namespace
        self.service = service
        self._clock = clock
        self._pending: dict[_Key, dict[str, tuple[str, list[float]]]] = {}

    def record(self, metric: Metric, value: float, labels: Mapping[str, str]) -> None:
        if not metric.emf:
            return
        name, unit = metric.name, metric.unit
        if metric is INTERACTION_DURATION:
            name, unit, value = "hunch_interaction_duration_ms", "Milliseconds", value * 1000.0
        key: _Key = (metric.emf, tuple(sorted(labels.items())))
        group = self._pending.setdefault(key, {})
        found = group.get(name)
        if found is None:
            group[name] = (unit, [value])
        elif metric.kind == "counter":
            found[1][0] += value
        elif metric.kind == "gauge":
            found[1][0] = value
        else:
            found[1].append(value)

    def lines(self) -> list[str]:
        """The pending measurements as EMF documents (and forgets them)."""
        pending, self._pending = self._pending, {}
        timestamp = int(self._clock() * 1000)
        out: list[str] = []
        for (dimension_sets, labels), metrics in pending.items():
            items = [
                (name, unit, values[i : i + MAX_VALUES])
                for name, (unit, values) in metrics.items()
                for i in range(0, len(values), MAX_VALUES)
            ]
            while items:
                # A metric whose values did not fit goes on the next line (a name appears once per document).
                line: dict[str, tuple[str, list[float]]] = {}
                rest = []
                for name, unit, values in items:
                    if name in line or len(line) >= MAX_METRICS:
                        rest.append((name, unit, values))
                    else:
                        line[name] = (unit, values)
                items = rest
                out.append(self._document(timestamp, dimension_sets, dict(labels), line))
        return out

    def _document(
        self,
        timestamp: int,
        dimension_sets: tuple[tuple[str, ...], ...],
        labels: dict[str, str],
        metrics: dict[str, tuple[str, list[float]]],
    ) -> str:
        document: dict[str, object] = {
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(dimensions) for dimensions in dimension_sets],
                        "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
                    }
                ],
            },
            "service": self.service,
        }
        for label, value in labels.items():
            document.setdefault(label, value)
        for name, (_, values) in metrics.items():
            document[name] = values[0] if len(values) == 1 else values
        return json.dumps(document, separators=(",", ":"))

    def flush(self) -> None:
        lines = self.lines()
        if lines:
            stream = self._stream or sys.stdout
            stream.write("".join(line + "\n" for line in lines))
            stream.flush()
