"""The measuring interface: nothing happens until an exporter is plugged in, then everything goes to it."""

from __future__ import annotations

from collections.abc import Mapping

from app import telemetry


class Kept:
    def __init__(self) -> None:
        self.records: list[tuple[str, float, dict[str, str]]] = []

    def record(self, metric: telemetry.Metric, value: float, labels: Mapping[str, str]) -> None:
        self.records.append((metric.name, value, dict(labels)))


def test_with_nothing_plugged_in_measuring_does_nothing() -> None:
    telemetry.install()
    telemetry.count(telemetry.BETS, side="buy")
    with telemetry.span("anything", a=1):
        pass
    assert telemetry.trace_id() is None


def test_an_installed_recorder_gets_every_measurement() -> None:
    kept = Kept()
    telemetry.install(kept)
    telemetry.count(telemetry.BETS, side="sell")
    telemetry.observe(telemetry.TRADE_BATCH_SIZE, 4)
    telemetry.gauge(telemetry.OUTBOX_LAG, 1.5)
    assert kept.records == [
        ("hunch_bets_total", 1.0, {"side": "sell"}),
        ("hunch_trade_batch_size", 4, {}),
        ("hunch_outbox_lag_seconds", 1.5, {}),
    ]


def test_the_vocabulary_is_the_contracts() -> None:
    names = [metric.name for metric in telemetry.VOCABULARY]
    assert len(names) == len(set(names)) == 27
    for metric in telemetry.VOCABULARY:
        assert metric.name.startswith("hunch_")
        assert metric.name.endswith("_total") == (metric.kind == "counter")
        assert bool(metric.buckets) == (metric.kind == "histogram")
        assert not any(label.endswith("_id") for label in metric.labels)  # bounded: never a user, guild or market id
        assert all(dimensions[0] == "service" for dimensions in metric.emf)
