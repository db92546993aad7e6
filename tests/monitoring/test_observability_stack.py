"""The compose profile `observability` (infra/docker-compose.yml), checked without a Docker engine: the
services, their pinned images, the files they mount from the repository and the home dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.monitoring.promql import REPO

COMPOSE = REPO / "infra" / "docker-compose.yml"
STACK = {"prometheus", "alertmanager", "grafana", "mailpit"}


def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return loaded


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Bind mounts of the repository's files: container path -> repository path."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            found[target] = (COMPOSE.parent / source).resolve()
    return found


def test_the_stack_is_a_profile_and_the_default_stack_is_unchanged() -> None:
    profiled = {name for name, service in services().items() if "observability" in service.get("profiles", [])}
    assert profiled == STACK
    assert {"postgres", "redis", "migrate", "app", "scheduler"} <= {
        n for n, s in services().items() if "profiles" not in s
    }


def test_images_are_pinned_and_ports_stay_on_loopback() -> None:
    for name in STACK:
        service = services()[name]
        image, _, tag = service["image"].rpartition(":")
        assert image and tag and tag != "latest", name
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_every_mounted_file_is_in_the_repository() -> None:
    for name in STACK:
        for target, source in mounts(services()[name]).items():
            assert source.exists(), f"{name} mounts {source} at {target}, which does not exist"


def test_prometheus_reads_the_committed_configuration() -> None:
    prometheus = services()["prometheus"]
    [config] = [flag for flag in prometheus["command"] if flag.startswith("--config.file=")]
    path = config.removeprefix("--config.file=")
    sources = mounts(prometheus)
    assert path == "/etc/prometheus/prometheus.yml" and (sources["/etc/prometheus"] / "prometheus.yml").is_file()
    assert "app" in services() and any(p.endswith(":8000") for p in services()["app"]["ports"])


def test_alertmanager_renders_its_configuration_before_starting() -> None:
    alertmanager = services()["alertmanager"]
    assert alertmanager["entrypoint"] == ["/bin/sh", "/etc/alertmanager/render.sh"]
    assert "--config.file=/tmp/alertmanager.yml" in alertmanager["command"]
    assert (mounts(alertmanager)["/etc/alertmanager"] / "render.sh").is_file()
    assert alertmanager["environment"]["DISCORD_WEBHOOK_URL"] == "${DISCORD_WEBHOOK_URL:-}"


def test_grafana_opens_on_the_hunch_dashboard_without_a_login() -> None:
    grafana = services()["grafana"]
    environment = grafana["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    sources = mounts(grafana)
    assert (sources["/etc/grafana/provisioning"] / "datasources").is_dir()
    home = Path(environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert (sources[str(home.parent)] / home.name).is_file()


def test_the_processes_without_an_http_server_export_metrics_where_prometheus_scrapes_them() -> None:
    scrape = yaml.safe_load((REPO / "infra/monitoring/prometheus/prometheus.yml").read_text())
    [hunch] = [job for job in scrape["scrape_configs"] if job["job_name"] == "hunch"]
    targets = {t for c in hunch["static_configs"] for t in c["targets"]}
    targets |= {f"{name}:{d['port']}" for d in hunch["dns_sd_configs"] for name in d["names"]}
    for name in ("scheduler", "worker"):
        command = services()[name]["command"]
        port = command[command.index("--metrics-port") + 1]
        assert f"{name}:{port}" in targets, f"Prometheus does not scrape the {name}'s metrics"
    assert "worker" in services()["worker"]["profiles"]  # serve runs workers in-process by default
