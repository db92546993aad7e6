"""The PromQL reader the monitoring tests rely on."""

from __future__ import annotations

from app.telemetry import VOCABULARY
from tests.monitoring.promql import documented_metrics, label_names, metric_names


def test_metric_names_skip_functions_keywords_labels_and_durations() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, command) (rate(hunch_interaction_duration_seconds_bucket[5m]))) > 2.5 "
        'and on () (sum(increase(hunch_db_errors_total{kind="unavailable"}[$__range])) or vector(0)) '
        "and hunch:interaction_error_ratio:rate1h > bool (14.4 * 0.001) offset 5m"
    )
    assert metric_names(expr) == {
        "hunch_interaction_duration_seconds_bucket",
        "hunch_db_errors_total",
        "hunch:interaction_error_ratio:rate1h",
    }
    assert label_names(expr) == {"le", "command", "kind"}


def test_a_label_value_is_not_a_metric() -> None:
    assert metric_names('up{job="hunch_interactions_total"} == 0') == {"up"}
    assert label_names('max by (job) (up{job="hunch", instance!~"a.*"})') == {"job", "instance"}


def test_the_readme_documents_the_vocabulary() -> None:
    metrics = documented_metrics()
    assert metrics["hunch_interactions_total"].labels == {"type", "command", "outcome"}
    assert metrics["hunch_interaction_duration_seconds"].kind == "histogram"
    assert metrics["hunch_signature_failures_total"].labels == frozenset()
    assert metrics["hunch_trade_batch_size"].series_names() == {
        "hunch_trade_batch_size_bucket",
        "hunch_trade_batch_size_sum",
        "hunch_trade_batch_size_count",
    }
    assert len(metrics) == 27
    recorded = {metric.name: frozenset(metric.labels) for metric in VOCABULARY}
    assert {name: metric.labels for name, metric in metrics.items()} == recorded  # what the code records
