"""Benchmark: signed /bet interactions over real HTTP (uvicorn) against Postgres, then pgbench on the same server.

    .venv/bin/python bench/bench_bets.py [--requests 12000] [--members 4000] [--concurrency 32] [--workers 2]

Creates (and afterwards drops) a scratch database `hunch_bench` on the local server, starts `python -m app
serve`, creates one market, and fires pre-signed 1-point bets on it from thousands of distinct members over
keep-alive connections (a tiny HTTP/1.1 client, so the load generator costs little CPU). Then runs pgbench's
built-in TPC-B (`pgbench -c 32 -j 2 -T 10`, scale 1) and prints both. Needs Postgres at 127.0.0.1:5432 and
Redis at 127.0.0.1:6379 (the rate limiter backend in production).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "hunch_bench"
KEY = SigningKey(b"b" * 32)
GUILD = "900000000000000777"
ADMIN = "100000000000000001"


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


def interaction(iid: int, user: str, name: str, options: list[dict], permissions: str = "0") -> bytes:
    payload = {
        "application_id": "1100000000000000000",
        "channel_id": "900000000000000778",
        "context": 0,
        "data": {"id": "1", "name": name, "options": options, "type": 1},
        "guild_id": GUILD,
        "id": str(iid),
        "member": {"permissions": permissions, "roles": [], "user": {"id": user, "username": f"u{user}"}},
        "token": "aW50ZXJhY3Rpb246YmVuY2g",
        "type": 2,
        "version": 1,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def request_bytes(body: bytes, port: int) -> bytes:
    ts = str(int(time.time()))
    sig = KEY.sign(ts.encode() + body).signature.hex()
    head = (
        f"POST /interactions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Signature-Ed25519: {sig}\r\nX-Signature-Timestamp: {ts}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, bytes]:
    writer.write(raw)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def wait_ready(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: x:{port}\r\n\r\n".encode())
            await writer.drain()
            if b"200" in await reader.readline():
                writer.close()
                return
        except OSError:
            await asyncio.sleep(0.2)
    raise RuntimeError("server did not start")


async def load(
    port: int, requests: list[bytes], concurrency: int, first_touch: int = 0
) -> tuple[float, list[float], list[float], dict[str, int]]:
    """Fire `requests` over `concurrency` connections; the first `first_touch` are members' first bets."""
    queue = list(reversed(list(enumerate(requests))))
    latencies: list[float] = []
    first: list[float] = []
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            index, raw = queue.pop()
            started = time.perf_counter()
            status, body = await send(reader, writer, raw)
            latencies.append(time.perf_counter() - started)
            if index < first_touch:
                first.append(latencies[-1])
            reply = json.loads(body) if status == 200 else {}
            content = reply.get("data", {}).get("content", "")
            key = "bet" if content.startswith("✅") else f"status {status}: {content[:60]}"
            outcomes[key] = outcomes.get(key, 0) + 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, first, outcomes


def pgbench(clients: int, seconds: int) -> float:
    psql("DROP DATABASE IF EXISTS pgbench_scratch")
    psql("CREATE DATABASE pgbench_scratch")
    try:
        subprocess.run(["pgbench", "-i", "-s", "1", "-q", f"{PG}/pgbench_scratch"], check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", "-c", str(clients), "-j", "2", "-T", str(seconds), f"{PG}/pgbench_scratch"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        match = re.search(r"tps = ([0-9.]+)", out)
        assert match, out
        return float(match.group(1))
    finally:
        psql("DROP DATABASE IF EXISTS pgbench_scratch")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main_async(args: argparse.Namespace) -> None:
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    env = os.environ | {
        "DATABASE_URL": f"{PG}/{DB}",
        "DISCORD_PUBLIC_KEY": KEY.verify_key.encode().hex(),
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "HUNCH_ENV": "prod",
        "LOG_LEVEL": "WARNING",
        "GUILD_TRADE_RATE_LIMIT": "1000000",
        "DATABASE_POOL_SIZE": str(max(4, args.concurrency // args.workers)),
        "WEB_CONCURRENCY": str(args.workers),
    }
    python = sys.executable
    subprocess.run([python, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(["redis-cli", "-n", "14", "FLUSHDB"], check=False, capture_output=True)
    server = subprocess.Popen([python, "-m", "app", "serve", "--port", str(args.port)], cwd=ROOT, env=env)
    try:
        await wait_ready(args.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        create = interaction(
            1,
            ADMIN,
            "market",
            [
                {
                    "name": "create",
                    "type": 1,
                    "options": [
                        {"name": "question", "type": 3, "value": "Benchmark: will the hot market hold?"},
                        {"name": "liquidity", "type": 4, "value": 100000},
                    ],
                }
            ],
            permissions="8",
        )
        status, body = await send(reader, writer, request_bytes(create, args.port))
        assert status == 200 and b"#1" in body, body
        writer.close()

        bets = [
            request_bytes(
                interaction(
                    10_000 + i,
                    str(200_000_000_000_000_000 + i % args.members),
                    "bet",
                    [
                        {"name": "market", "type": 3, "value": "1"},
                        {"name": "outcome", "type": 3, "value": "Yes" if i % 3 else "No"},
                        {"name": "amount", "type": 4, "value": 1},
                    ],
                ),
                args.port,
            )
            for i in range(args.requests)
        ]
        warm = bets[: args.concurrency * 4]
        await load(args.port, warm, args.concurrency)  # warm pools, caches and the first-touch path
        elapsed, latencies, first, outcomes = await load(
            args.port, bets[len(warm) :], args.concurrency, first_touch=max(0, args.members - len(warm))
        )
    finally:
        server.terminate()
        server.wait(timeout=10)

    verify = subprocess.run([python, "-m", "app", "verify-ledger"], cwd=ROOT, env=env, capture_output=True, text=True)
    psql(f"DROP DATABASE IF EXISTS {DB}")
    done = len(latencies)
    bets_per_s = outcomes.get("bet", 0) / elapsed
    print(f"signed /bet over HTTP: {done} requests, {args.concurrency} connections, {args.workers} uvicorn workers")
    print(f"  outcomes: {outcomes}")
    print(f"  throughput: {bets_per_s:,.0f} bets/s")
    print(
        f"  latency: p50 {percentile(latencies, 0.50) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms,"
        f" mean {statistics.fmean(latencies) * 1000:.1f} ms"
    )
    if first:
        print(
            f"  of which members' first bets: {len(first)}, p50 {percentile(first, 0.5) * 1000:.1f} ms,"
            f" p99 {percentile(first, 0.99) * 1000:.1f} ms"
        )
    print(f"  verify-ledger: {verify.stdout.strip()}")
    if shutil.which("pgbench"):
        tps = pgbench(32, args.pgbench_seconds)
        print(f"pgbench TPC-B (scale 1, -c 32 -j 2 -T {args.pgbench_seconds}): {tps:,.0f} tps")
        print(f"ratio bets/s : pgbench tps = {bets_per_s / tps:.2f} (target >= 0.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=12000)
    parser.add_argument("--members", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
