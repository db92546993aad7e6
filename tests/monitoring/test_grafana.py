"""infra/monitoring/grafana: the provisioned datasource, the dashboard provider and the Hunch dashboard
(static: every query parses and names only documented metrics)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.monitoring.promql import MONITORING, documented_metrics, label_names, metric_names, plain
from tests.monitoring.tools import check, tool

GRAFANA = MONITORING / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "hunch.json"
RECORDED = {
    rule["record"]
    for group in yaml.safe_load((MONITORING / "prometheus" / "rules.yml").read_text())["groups"]
    for rule in group["rules"]
    if "record" in rule
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def queries() -> list[str]:
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def test_the_datasource_is_the_compose_prometheus_with_the_uid_the_dashboard_uses() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "hunch.yml").read_text())
    sources = {source["uid"]: source for source in provisioned["datasources"]}
    assert sources["prometheus"]["type"] == "prometheus" and sources["prometheus"]["isDefault"] is True
    assert sources["prometheus"]["url"] == "http://prometheus:9090"
    used = {target["datasource"]["uid"] for panel in panels() for target in panel["targets"]}
    used |= {panel["datasource"]["uid"] for panel in panels()}
    assert used == {"prometheus"}


def test_the_provider_loads_the_dashboards_folder() -> None:
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "hunch.yml").read_text())
    [provider] = provisioned["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    board = dashboard()
    assert board["uid"] == "hunch-overview" and board["title"] == "Hunch"
    text = json.dumps([(panel["title"], [t["expr"] for t in panel["targets"]]) for panel in panels()])
    for series in (
        "hunch_interactions_total",  # traffic and errors
        "hunch:interaction_error_ratio:rate5m",
        "histogram_quantile(0.5, sum by (le) (rate(hunch_interaction_duration_seconds_bucket",
        "histogram_quantile(0.99, sum by (le) (rate(hunch_interaction_duration_seconds_bucket",
        "hunch_trade_batch_size_bucket",
        "hunch_outbox_lag_seconds",
        "hunch_events_dead_total",
        "hunch_bets_total",
        "hunch_points_traded_total",
    ):
        assert series in text, series


def test_panels_have_unique_ids_and_fit_the_grid_without_overlapping() -> None:
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dashboard()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        covered = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered
    for panel in panels():
        assert panel["targets"], panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])


def test_every_query_names_only_documented_metrics_and_labels() -> None:
    metrics = documented_metrics()
    names = {series for metric in metrics.values() for series in metric.series_names()} | RECORDED
    labels = {label for metric in metrics.values() for label in metric.labels} | {"le"}
    for expr in queries():
        assert metric_names(expr), expr
        assert metric_names(expr) <= names, expr
        assert label_names(expr) <= labels, expr


def test_every_query_parses(tmp_path: Path) -> None:
    """promtool has no offline query parser, but it parses recording rules: check each query as one."""
    promtool = tool("promtool")
    rules = [{"record": f"dashboard:query_{i}", "expr": plain(expr)} for i, expr in enumerate(queries())]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"{len(rules)} rules found" in check([promtool, "check", "rules", str(path)])
