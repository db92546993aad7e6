"""Benchmark the interactions endpoint's fixed costs.

    .venv/bin/python bench/bench_endpoint.py [--runs 7] [--requests 5000]

Prints, each as the median of fresh interpreter runs: the cold import time of `app.lambda_handler`, and of
import plus a first signed PING through the Lambda handler, with tracing off and on (OpenTelemetry exporting
over OTLP/HTTP to a local sink, with JSON as the Lambda functions do and with protobuf, the spans flushed at the
end of the invocation as Lambda does); then
in-process PING requests/s through the ASGI app (signature verified on every request), and confirms the
PING path imported no ORM or driver, and nothing of OpenTelemetry with tracing off.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEY_SEED = b"e" * 32

COLD = """
import time, sys
t0, c0 = time.perf_counter(), time.process_time()
import app.lambda_handler as lh
t1, c1 = time.perf_counter(), time.process_time()
from nacl.signing import SigningKey
key = SigningKey({seed!r})
body = b'{{"type":1}}'
ts = str(int(time.time()))
sig = key.sign(ts.encode() + body).signature.hex()
event = {{"version": "2.0", "routeKey": "POST /interactions", "rawPath": "/interactions", "rawQueryString": "",
  "headers": {{"content-type": "application/json", "x-signature-ed25519": sig, "x-signature-timestamp": ts}},
  "requestContext": {{"http": {{"method": "POST", "path": "/interactions", "protocol": "HTTP/1.1",
  "sourceIp": "127.0.0.1", "userAgent": "bench"}}, "requestId": "r", "routeKey": "POST /interactions",
  "stage": "$default", "accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d", "time": "t",
  "timeEpoch": 0}}, "body": body.decode(), "isBase64Encoded": False}}
t2, c2 = time.perf_counter(), time.process_time()
r = lh.handler(event, None)
t3, c3 = time.perf_counter(), time.process_time()
assert r["statusCode"] == 200, r
heavy = [m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "redis")]
otel = [m for m in sys.modules if m.startswith("opentelemetry")]
print((t1 - t0) * 1000, (t1 - t0 + t3 - t2) * 1000, len(heavy), len(otel), (c1 - c0 + c3 - c2) * 1000)
"""


class _Sink(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that accepts and forgets (so the exporter's round trip is real but local)."""

    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        _Sink.received += 1
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def cold_once(env: dict[str, str]) -> tuple[float, float, int, int, float]:
    """(import ms, import + first PING ms, ORM/driver modules, OpenTelemetry modules, CPU ms of import + first
    PING) of one fresh interpreter. The CPU time moves far less with the machine's load than the wall time."""
    out = subprocess.run(
        [sys.executable, "-c", COLD.format(seed=KEY_SEED)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]  # the EMF lines of the invocation come before
    imported, pinged, heavy, otel, cpu = out.split()
    return float(imported), float(pinged), int(heavy), int(otel), float(cpu)


def cold(runs: int, sink_port: int, protocol: str) -> dict[str, tuple[float, float, int, int, float]]:
    """Fresh interpreters with tracing off and on (exporting with `protocol`), alternating (the machine's load
    changes between runs): the medians of each, and the median of the paired differences (`added`)."""
    from nacl.signing import SigningKey

    env = {
        "PATH": "/usr/bin:/bin",
        "DISCORD_PUBLIC_KEY": SigningKey(KEY_SEED).verify_key.encode().hex(),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": "sqlite:////tmp/hunch-bench-unused.sqlite3",
    }
    traced = env | {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
    }
    off: list[tuple[float, float, int, int, float]] = []
    on: list[tuple[float, float, int, int, float]] = []
    for _ in range(runs):
        off.append(cold_once(env))
        on.append(cold_once(traced))

    def summary(found: list[tuple[float, float, int, int, float]]) -> tuple[float, float, int, int, float]:
        return (
            statistics.median(r[0] for r in found),
            statistics.median(r[1] for r in found),
            max(r[2] for r in found),
            max(r[3] for r in found),
            statistics.median(r[4] for r in found),
        )

    added = (
        statistics.median(b[0] - a[0] for a, b in zip(off, on, strict=True)),
        statistics.median(b[1] - a[1] for a, b in zip(off, on, strict=True)),
        0,
        0,
        statistics.median(b[4] - a[4] for a, b in zip(off, on, strict=True)),
    )
    return {"off": summary(off), "on": summary(on), "added": added}


async def ping_throughput(requests: int) -> float:
    import httpx
    from nacl.signing import SigningKey

    from app.settings import Settings
    from app.web import create_app

    key = SigningKey(KEY_SEED)
    settings = Settings(DISCORD_PUBLIC_KEY=key.verify_key.encode().hex(), LOG_LEVEL="WARNING")  # type: ignore[call-arg]
    body = b'{"type":1}'
    ts = str(int(time.time()))
    headers = {"X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex(), "X-Signature-Timestamp": ts}
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(50):
            await client.post("/interactions", content=body, headers=headers)
        started = time.perf_counter()
        for _ in range(requests):
            response = await client.post("/interactions", content=body, headers=headers)
        elapsed = time.perf_counter() - started
    assert json.loads(response.content) == {"type": 1}
    return requests / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    found = cold(args.runs, sink.server_port, "http/json")
    protobuf = cold(args.runs, sink.server_port, "http/protobuf")
    sink.shutdown()
    imported, first_ping, heavy, otel, cpu = found["off"]
    print(f"cold import of app.lambda_handler: {imported:.0f} ms (median of {args.runs} fresh interpreters)")
    print(f"cold import + first signed PING:   {first_ping:.0f} ms ({cpu:.0f} ms of CPU)")
    print(f"ORM/driver modules imported by the PING path: {heavy}; OpenTelemetry modules: {otel}")
    for protocol, measured in (("http/json", found), ("http/protobuf", protobuf)):
        traced_import, traced_ping, _, traced_otel, traced_cpu = measured["on"]
        added = measured["added"]
        print(
            f"tracing on, OTLP {protocol} to a local sink ({traced_otel} OpenTelemetry modules): import "
            f"{traced_import:.0f} ms, import + first PING {traced_ping:.0f} ms ({traced_cpu:.0f} ms of CPU); the "
            f"median of {args.runs} paired differences: import +{added[0]:.0f} ms, import + first PING "
            f"+{added[1]:.0f} ms, its CPU +{added[4]:.0f} ms"
        )
    print(f"OTLP exports received by the sink: {_Sink.received}")
    rate = asyncio.run(ping_throughput(args.requests))
    print(f"in-process signed PING: {rate:,.0f} requests/s ({1e6 / rate:.0f} µs each, httpx ASGI client included)")


if __name__ == "__main__":
    main()
