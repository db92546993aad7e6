"""Readiness as the IETF health-check draft (`application/health+json`) has it: each component's check, and
the worst of them as the whole.

`status` is `pass`, `warn` or `fail`; `warn` still answers 200 (the app serves, something deserves a look),
`fail` answers 503 (a load balancer should send traffic elsewhere). Each check names its component, what was
observed (a response time in ms, a revision, a state, a lag in seconds) and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["pass", "warn", "fail"]
MEDIA_TYPE = "application/health+json"
_RANK: dict[Status, int] = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Check:
    """One entry of `checks`: `name` is the draft's "component:measurement" key."""

    name: str
    status: Status
    component_type: str
    observed_value: float | str | None = None
    observed_unit: str | None = None
    output: str | None = None  # why it warns or fails (an error's type, never its message: it may hold a URL)
    time: datetime | None = None

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"componentType": self.component_type, "status": self.status}
        if self.observed_value is not None:
            entry["observedValue"] = self.observed_value
        if self.observed_unit is not None:
            entry["observedUnit"] = self.observed_unit
        if self.output:
            entry["output"] = self.output
        entry["time"] = (self.time or datetime.now(UTC)).isoformat(timespec="milliseconds")
        return entry


def report(checks: list[Check], *, service: str = "hunch") -> tuple[int, dict[str, Any]]:
    """The HTTP status and the body for these checks."""
    status: Status = max((check.status for check in checks), key=_RANK.__getitem__, default="pass")
    body: dict[str, Any] = {
        "status": status,
        "serviceId": service,
        "description": "Hunch: prediction markets for Discord",
        "checks": {},
    }
    for check in checks:
        body["checks"].setdefault(check.name, []).append(check.entry())
    failing = [check.name for check in checks if check.status != "pass"]
    if failing:
        body["output"] = ", ".join(failing)
    return (503 if status == "fail" else 200), body
