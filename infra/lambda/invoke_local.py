"""Invoke the packaged Lambda handler the way Lambda does, on this machine.

Shared by tests/deploy/test_deploy.py and bench/cold_start.py:

* `find_python312()`: the interpreter to run the package with (the same search as the build's).
* `build_events(signing_key)` (run by the caller, which needs PyNaCl): API Gateway HTTP API
  payload-2.0 events for a signed PING, a PING with a bad signature and GET /healthz;
  `signed_interaction_event(signing_key, body)` one for any signed interaction body.
* `python3.12 -S invoke_local.py EVENTS.json RESULT.json` (run with cwd and PYTHONPATH set to an
  unzipped package, `-S` so nothing outside the package can be imported): imports
  `app.lambda_handler`, invokes `handler` once per event, and writes the responses and timings.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HEAVY_MODULES = ("sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "alembic", "redis")


def find_python312() -> str | None:
    """HUNCH_LAMBDA_PYTHON, else python3.12 on PATH, else pyenv's newest 3.12 (as serverless-plugin.js)."""
    candidates = [os.environ.get("HUNCH_LAMBDA_PYTHON"), shutil.which("python3.12")]
    roots = [os.environ.get("PYENV_ROOT") or "", str(Path.home() / ".pyenv")]
    for root in (r for r in roots if r):
        found = glob.glob(os.path.join(root, "versions", "3.12.*", "bin", "python3.12"))
        newest_first: list[str] = sorted(found, key=lambda p: int(Path(p).parts[-3].split(".")[2]), reverse=True)
        candidates += newest_first
    for candidate in (c for c in candidates if c):
        probe = subprocess.run(
            [candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 12))"], capture_output=True
        )
        if probe.returncode == 0:
            return candidate
    return None


def http_api_event(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, *, base64_body: bool = False
) -> dict[str, Any]:
    now = time.time()
    all_headers = {
        "host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "user-agent": "Discord-Interactions/1.0 (+https://discord.com)",
        "content-length": str(len(body)),
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
    }
    if body:
        all_headers["content-type"] = "application/json"
    all_headers.update(headers or {})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": all_headers["user-agent"],
            },
            "requestId": f"req-{int(now * 1000)}",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": base64_body,
    }
    if body:
        event["body"] = base64.b64encode(body).decode() if base64_body else body.decode()
    return event


def build_events(signing_key: Any) -> dict[str, dict[str, Any]]:
    """Named events; `signing_key` is a `nacl.signing.SigningKey` whose verify key the app is given."""
    body = b'{"type":1}'
    timestamp = str(int(time.time()))
    signature = signing_key.sign(timestamp.encode() + body).signature.hex()
    signed = {"x-signature-ed25519": signature, "x-signature-timestamp": timestamp}
    tampered = ("00" if signature[:2] != "00" else "11") + signature[2:]
    bad = {"x-signature-ed25519": tampered, "x-signature-timestamp": timestamp}
    return {
        "ping": http_api_event("POST", "/interactions", body, signed),
        "ping_base64": http_api_event("POST", "/interactions", body, signed, base64_body=True),
        "bad_signature": http_api_event("POST", "/interactions", body, bad),
        "healthz": http_api_event("GET", "/healthz"),
    }


def signed_interaction_event(signing_key: Any, body: bytes) -> dict[str, Any]:
    """A `POST /interactions` event carrying `body`, signed now with `signing_key`."""
    timestamp = str(int(time.time()))
    signature = signing_key.sign(timestamp.encode() + body).signature.hex()
    headers = {"x-signature-ed25519": signature, "x-signature-timestamp": timestamp}
    return http_api_event("POST", "/interactions", body, headers)


class _Context:
    """The parts of Lambda's context object that Mangum and the app may read."""

    function_name = "hunch-local-http"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:hunch-local-http"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/hunch-local-http"
    log_stream_name = "local"
    client_context = None
    identity = None

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def main(argv: list[str]) -> int:
    events_path, result_path = argv[1], argv[2]
    # sys.path[0] is this script's folder; only the package (PYTHONPATH) may provide imports.
    del sys.path[0]
    with open(events_path) as fh:
        events: dict[str, dict[str, Any]] = json.load(fh)
    started = time.perf_counter()
    import app.lambda_handler as entry  # the measured import

    imported = time.perf_counter()
    results = {}
    context: Any = _Context()
    for name, event in events.items():
        before = time.perf_counter()
        response = entry.handler(event, context)
        results[name] = {"response": response, "seconds": time.perf_counter() - before}
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY_MODULES))
    report = {
        "python": sys.version.split()[0],
        "import_seconds": imported - started,
        "results": results,
        "heavy_modules_after_requests": heavy,
        "scheduled_is_callable": callable(getattr(entry, "scheduled", None)),
        "worker_is_callable": callable(getattr(entry, "worker", None)),
        "site_imported": "site" in sys.modules,
        "sys_path": sys.path,
    }
    with open(result_path, "w") as fh:
        json.dump(report, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
