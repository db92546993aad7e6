"""Operator entry point for the Lambda deployment (`functions.ops` in serverless.yml).

The database sits in private subnets behind RDS Proxy, so the simplest place to run one-off commands
against it is a Lambda function in the same VPC with the same configuration. This runs the app's own
CLI (`python -m app ...`) in a child process, exactly as the container's `migrate` service does, and
returns its exit code and output:

    npx serverless invoke -f ops --stage prod                       # migrate to head
    npx serverless invoke -f ops --stage prod --data '{"command": "verify-ledger"}'
    npx serverless invoke -f ops --stage prod --data '{"command": "events", "args": ["dead", "--json"]}'

Only the commands below are accepted; the function has no HTTP route or schedule, so only principals
allowed `lambda:InvokeFunction` on it can run it. The build copies this file to the zip's root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EVENT_ACTIONS = {"list", "dead", "retry", "replay"}


def _events(event: dict[str, Any]) -> list[str]:
    args = [str(a) for a in (event.get("args") or ["list"])]
    if args[0] not in EVENT_ACTIONS:
        raise ValueError(f"events takes one of {sorted(EVENT_ACTIONS)}, not {args[0]!r}")
    return ["events", *args]


ALLOWED = {
    "migrate": lambda event: ["migrate", "--revision", str(event.get("revision") or "head")],
    "verify-ledger": lambda event: ["verify-ledger"],
    "events": _events,
}
MAX_OUTPUT = 8000


def run(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    event = event or {}
    command = str(event.get("command") or "migrate")
    if command not in ALLOWED:
        return {"ok": False, "error": f"unknown command {command!r}; allowed: {sorted(ALLOWED)}"}
    try:
        argv = [sys.executable, "-m", "app", *ALLOWED[command](event)]
    except ValueError as refused:
        return {"ok": False, "error": str(refused)}
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else 300.0
    try:
        result = subprocess.run(
            argv,
            cwd=Path(__file__).resolve().parent,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=max(5.0, remaining - 5.0),
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout or ""
        print(output, flush=True)
        return {"ok": False, "command": command, "error": "timed out", "output": str(output)[-MAX_OUTPUT:]}
    print(result.stdout, flush=True)  # the whole output goes to CloudWatch Logs
    return {
        "ok": result.returncode == 0,
        "command": command,
        "returncode": result.returncode,
        "output": result.stdout[-MAX_OUTPUT:],
    }
