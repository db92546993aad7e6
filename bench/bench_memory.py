"""Memory of one server process under 100,000 bets: its resident set at 10k and at 100k must be the same.

    .venv/bin/python bench/bench_memory.py [--bets 100000] [--members 10000] [--markets 20] [--postgres-limits]

Starts one `python -m app serve` process (one uvicorn worker, its event worker in-process, limits in Redis or,
with --postgres-limits, in Postgres) on a scratch database `hunch_memory`, creates `--markets` markets, then sends
Discord-shaped signed 1-point bets (the same payloads as bench_bets.py) from `--members` distinct members spread
over the markets, over 32 keep-alive connections, and prints the process's VmRSS (with its children) every 10,000
bets. Then `verify-ledger`. The figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bets import (  # the sibling script, found from anywhere
    ADMIN,
    PLAIN_MEMBER,
    ROOT,
    Payloads,
    load,
    load_template,
    psql,
    request_bytes,
    send,
    server_env,
    wait_ready,
)

DB = "hunch_memory"
STEP = 10_000


def rss_kib(root: int) -> int:
    """VmRSS of a process and its children, in KiB."""
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            pending += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


async def main_async(args: argparse.Namespace) -> None:
    template, source = load_template(args.payloads)
    payloads = Payloads(template)
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    env = server_env(DB, pool_size=16, workers=1, redis_db=None if args.postgres_limits else 13)
    python = sys.executable
    subprocess.run([python, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen([python, "-m", "app", "serve", "--port", str(args.port)], cwd=ROOT, env=env)
    print(f"payloads: {source}; {args.bets:,} bets, {args.members:,} members, {args.markets} markets, one process")
    print(f"limits in {'Postgres' if args.postgres_limits else 'Redis'}")
    try:
        await wait_ready(args.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        for n in range(args.markets):
            question = {"name": "question", "type": 3, "value": f"Memory: will market {n + 1} hold?"}
            create = [{"name": "create", "type": 1, "options": [question]}]
            raw = request_bytes(payloads.command(1 + n, ADMIN, "market", create, "8"), args.port)
            status, body = await send(reader, writer, raw)
            assert status == 200 and f"#{n + 1}".encode() in body, body
        writer.close()

        def bet(i: int) -> bytes:
            options = [
                {"name": "market", "type": 3, "value": str(1 + i % args.markets)},
                {"name": "outcome", "type": 3, "value": "Yes" if i % 3 else "No"},
                {"name": "amount", "type": 4, "value": 1},
            ]
            user = str(200_000_000_000_000_000 + i % args.members)
            return request_bytes(payloads.command(1_000_000 + i, user, "bet", options, PLAIN_MEMBER), args.port)

        print(f"{'bets':>8} {'RSS MiB':>8} {'bets/s':>7}  outcomes")
        print(f"{0:>8} {rss_kib(server.pid) / 1024:8.1f}")
        done = 0
        readings: dict[int, int] = {}
        while done < args.bets:
            chunk = [bet(i) for i in range(done, min(args.bets, done + STEP))]
            started = time.perf_counter()
            _, _, _, outcomes = await load(args.port, chunk, 32)
            done += len(chunk)
            readings[done] = rss_kib(server.pid)
            rate = len(chunk) / (time.perf_counter() - started)
            print(f"{done:>8} {readings[done] / 1024:8.1f} {rate:7.0f}  {outcomes}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    verify = subprocess.run([python, "-m", "app", "verify-ledger"], cwd=ROOT, env=env, capture_output=True, text=True)
    psql(f"DROP DATABASE IF EXISTS {DB}")
    print(f"verify-ledger: {verify.stdout.strip()}")
    first, last = readings.get(STEP), readings.get(max(readings))
    if first and last:
        print(f"RSS at {STEP:,} bets {first / 1024:.1f} MiB, at {max(readings):,} {last / 1024:.1f} MiB")
        print(f"growth {(last - first) / 1024:+.1f} MiB ({(last - first) / first * 100:+.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--markets", type=int, default=20)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--postgres-limits", action="store_true", help="no REDIS_URL: the limits held in Postgres")
    parser.add_argument("--payloads", type=Path, default=ROOT.parent / "shared" / "discord" / "payloads")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
