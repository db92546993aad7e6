"""Just enough PromQL reading for the monitoring tests: the metric names and label names an expression
uses, and the metrics vocabulary as the README's Operations section documents it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "infra" / "monitoring"

# Grafana's variables, replaced by durations so that the expression is plain PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1d"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS |= {"inf", "nan"}
IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
MATCHERS = re.compile(r"\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def plain(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """The series names an expression selects (not functions, keywords, labels or durations)."""
    text = STRING.sub('""', plain(expr))
    text = MATCHERS.sub("{}", text)
    text = re.sub(r"\[[^\]]*\]", "[]", text)
    text = GROUPING.sub(r"\1 ()", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        name = match.group(1)
        following = text[match.end() :].lstrip()
        aggregation = re.match(r"(by|without)\s*\(", following)
        if following.startswith("(") or aggregation or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def label_names(expr: str) -> set[str]:
    """Label names in matchers and in by/without/on/ignoring lists."""
    text = STRING.sub('""', plain(expr))
    labels = set()
    for matchers in MATCHERS.findall(text):
        labels |= set(MATCHER_LABEL.findall(matchers))
    for _, listed in GROUPING.findall(text):
        labels |= {label.strip() for label in listed.split(",") if label.strip()}
    return labels


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str
    labels: frozenset[str]

    def series_names(self) -> set[str]:
        if self.kind == "histogram":
            return {self.name + suffix for suffix in HISTOGRAM_SUFFIXES}
        return {self.name}


def documented_metrics() -> dict[str, Metric]:
    """The metrics table of the README's Operations section: `| `name` | type | `label`, ... | meaning |`."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Operations") :]
    section = section[: section.index("\n## ", 1)]
    metrics = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not re.fullmatch(r"`hunch_\w+`", cells[0]):
            continue
        name = cells[0].strip("`")
        metrics[name] = Metric(name, cells[1], frozenset(re.findall(r"`(\w+)`", cells[2])))
    return metrics


def documented_row(metric: str) -> tuple[str, set[str]]:
    """The meaning the README's metrics table gives `metric`, and the label values it names (in backticks)."""
    readme = (REPO / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith(f"| `{metric}` |")]
    meaning = row.strip().strip("|").split("|")[-1]
    return meaning, {value for value in re.findall(r"`(\w+)`", meaning) if not value.startswith("hunch_")}
