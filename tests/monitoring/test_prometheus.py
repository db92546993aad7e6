"""infra/monitoring/prometheus: the alerting and recording rules, their promtool unit tests, and the
Prometheus configuration of the compose stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring.promql import MONITORING, REPO, documented_metrics, label_names, metric_names
from tests.monitoring.tools import check, tool

PROMETHEUS = MONITORING / "prometheus"
RULES = PROMETHEUS / "rules.yml"
RULE_TESTS = (PROMETHEUS / "rules.test.yml", PROMETHEUS / "rules.3d.test.yml")
SEVERITIES = {"page", "ticket"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def alerts() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def recorded() -> dict[str, dict[str, Any]]:
    return {rule["record"]: rule for rule in rules() if "record" in rule}


def unit_tests() -> list[dict[str, Any]]:
    return [case for path in RULE_TESTS for case in load(path)["tests"]]


def github_anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


# --- with promtool --------------------------------------------------------------------------------


def test_promtool_checks_the_rules() -> None:
    output = check([tool("promtool"), "check", "rules", str(RULES)])
    assert f"{len(rules())} rules found" in output


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    output = check([tool("promtool"), "test", "rules", *(path.name for path in RULE_TESTS)], cwd=PROMETHEUS)
    assert output.count("SUCCESS") == len(RULE_TESTS)


def test_promtool_checks_the_prometheus_configuration() -> None:
    output = check([tool("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml")])
    assert "SUCCESS" in output


# --- the rules, read ------------------------------------------------------------------------------


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for case in unit_tests():
        for expectation in case.get("alert_rule_test", []):
            (firing if expectation.get("exp_alerts") else silent).add(expectation["alertname"])
    assert set(alerts()) - firing == set(), "alerts never shown to fire"
    assert set(alerts()) - silent == set(), "alerts never shown to stay silent"


def test_every_recording_rule_is_tested_or_read_by_a_tested_alert() -> None:
    asserted = {
        name for case in unit_tests() for t in case.get("promql_expr_test", []) for name in metric_names(t["expr"])
    }
    read_by_alerts = {name for alert in alerts().values() for name in metric_names(alert["expr"])}
    assert set(recorded()) - asserted - read_by_alerts == set()


def test_every_alert_has_a_severity_the_service_and_a_runbook_in_the_readme() -> None:
    anchors = github_anchors((REPO / "README.md").read_text())
    for name, alert in alerts().items():
        assert alert["labels"]["severity"] in SEVERITIES, name
        assert alert["labels"]["service"] == "hunch", name
        assert alert["annotations"]["summary"], name
        runbook = alert["annotations"]["runbook"]
        assert runbook.startswith("README.md#"), name
        assert runbook.removeprefix("README.md#") in anchors, f"{name}: no README heading for {runbook}"


def test_the_readme_tabulates_every_alert() -> None:
    readme = (REPO / "README.md").read_text()
    operations = readme[readme.index("## Operations") :]
    for name in alerts():
        assert f"| `{name}` |" in operations, f"{name} is missing from the README's alert tables"


def test_rules_use_only_the_documented_metrics_and_labels() -> None:
    metrics = documented_metrics()
    names = {series for metric in metrics.values() for series in metric.series_names()}
    labels = {label for metric in metrics.values() for label in metric.labels} | {"le", "job", "instance"}
    for rule in rules():
        assert metric_names(rule["expr"]) <= names | set(recorded()) | {"up"}, rule
        assert label_names(rule["expr"]) <= labels, rule


def test_the_slo_burn_rate_alerts_match_the_objective() -> None:
    expected = {
        "HunchErrorBudgetBurnFast": ("1h", "5m", "14.4 * 0.001", "page"),
        "HunchErrorBudgetBurnSlow": ("6h", "30m", "6 * 0.001", "page"),
        "HunchErrorBudgetBurnTicket": ("3d", "6h", "0.001", "ticket"),
    }
    for name, (long_window, short_window, threshold, severity) in expected.items():
        alert = alerts()[name]
        expr = " ".join(alert["expr"].split())
        assert f"hunch:interaction_error_ratio:rate{long_window} > ({threshold})" in expr or (
            f"hunch:interaction_error_ratio:rate{long_window} > {threshold}" in expr
        ), expr
        assert f"hunch:interaction_error_ratio:rate{short_window} >" in expr, expr
        assert " and " in expr and "for" not in alert
        assert alert["labels"]["severity"] == severity
        guard = f'sum(increase(hunch_interactions_total{{outcome="error"}}[{long_window}])) >= 5'
        assert (guard in expr) == (severity == "page"), "a page needs 5 failures in its long window"
    for window in ("5m", "30m", "1h", "6h", "3d"):
        expr = " ".join(recorded()[f"hunch:interaction_error_ratio:rate{window}"]["expr"].split())
        assert f'hunch_interactions_total{{outcome="error"}}[{window}]' in expr
        assert f'hunch_interactions_total{{outcome!="bad_request"}}[{window}]' in expr


# --- the configuration ------------------------------------------------------------------------------


def test_prometheus_scrapes_hunch_and_alerts_through_alertmanager() -> None:
    config = load(PROMETHEUS / "prometheus.yml")
    assert config["rule_files"] == ["rules.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    hunch = jobs["hunch"]
    assert hunch.get("metrics_path", "/metrics") == "/metrics"
    assert [t for c in hunch["static_configs"] for t in c["targets"]] == ["app:8000", "scheduler:9100"]
    # The standalone workers, however many run: each exports its own registry on its metrics port.
    assert [(d["names"], d["port"]) for d in hunch["dns_sd_configs"]] == [(["worker"], 9100)]
    [alertmanagers] = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"][0]["targets"] == ["alertmanager:9093"]


@pytest.mark.parametrize("path", [RULES, *RULE_TESTS, PROMETHEUS / "prometheus.yml"], ids=lambda p: p.name)
def test_files_parse(path: Path) -> None:
    assert isinstance(load(path), dict)
