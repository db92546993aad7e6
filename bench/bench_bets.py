"""Benchmark: signed /bet interactions shaped as Discord sends them, over real HTTP (uvicorn) against Postgres,
with the rate limits in Redis and then in Postgres, and pgbench on the same server around them: one run.

    .venv/bin/python bench/bench_bets.py [--requests 12000] [--members 6000] [--concurrency 32] [--workers N]
        [--config both|redis|postgres] [--payloads ../shared/discord/payloads]

Each interaction is the captured 2025 guild slash command (`02_slash_command_guild_signed_2025.json` in
`--payloads`; a built-in copy of its shape when that is absent, and the output says which) with its own id, member
and a token of Discord's size: every field Discord sends (app_permissions, channel, guild, entitlements, member
with string permissions, locale), about 1.6 KB. Bets come from `--members` distinct members, so with the defaults
about half are members' first trades (their account is opened). For each configuration the script creates (and
drops) a scratch database `hunch_bench`, starts `python -m app serve`, creates one market and fires pre-signed
1-point bets at it over keep-alive connections (a tiny HTTP/1.1 client, so the load generator costs little CPU).
pgbench's built-in TPC-B (`-c 32 -j 2 -T 10`, scale 1) runs before, between and after the configurations, and each
configuration's bets/s is given as a ratio to the mean of the two pgbench runs around it (a shared machine's speed
drifts within a run), against the targets. For each configuration it also prints the CPU a bet cost the server's
processes, Postgres's (from /proc: a backend that exits during the run takes its share with it) and Redis's (its
INFO), how many connections were opened to the database during the run (pool churn shows there), and where the
server's time went, from its own /metrics over the measured bets: the mean server time, the trade batches and
their mean size, the mean transaction and statement. Needs Postgres at 127.0.0.1:5432 and Redis at 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "hunch_bench"
KEY = SigningKey(b"b" * 32)
ADMIN = "100000000000000001"


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(["psql", f"{PG}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


# What Discord sent for a guild slash command in 2025 (the captured payload's shape, field for field), used when
# the captured file is not next to the repository.
BUILT_IN: dict[str, Any] = {
    "app_permissions": "2248473465835073",
    "application_id": "1380486651436073092",
    "attachment_size_limit": 10485760,
    "authorizing_integration_owners": {"0": "1380488052169769110"},
    "channel": {
        "flags": 0,
        "guild_id": "1380488052169769110",
        "icon_emoji": {"id": None, "name": "\U0001f44b"},
        "id": "1380488052169769113",
        "last_message_id": "1380528253168652328",
        "name": "general",
        "nsfw": False,
        "parent_id": "1380488052169769111",
        "permissions": "2251799813685247",
        "position": 0,
        "rate_limit_per_user": 0,
        "theme_color": None,
        "topic": None,
        "type": 0,
    },
    "channel_id": "1380488052169769113",
    "context": 0,
    "data": {"id": "1380515955146358918", "name": "sign", "options": [], "type": 1},
    "entitlement_sku_ids": [],
    "entitlements": [],
    "guild": {"features": [], "id": "1380488052169769110", "locale": "en-US"},
    "guild_id": "1380488052169769110",
    "guild_locale": "en-US",
    "id": "1381177107555680327",
    "locale": "en-US",
    "member": {
        "avatar": None,
        "banner": None,
        "communication_disabled_until": None,
        "deaf": False,
        "flags": 0,
        "joined_at": "2025-06-06T10:06:39.888000+00:00",
        "mute": False,
        "nick": None,
        "pending": False,
        "permissions": "2251799813685247",
        "premium_since": None,
        "roles": [],
        "unusual_dm_activity_until": None,
        "user": {
            "avatar": "9c5483a989a10edc8b831b6c8f284724",
            "avatar_decoration_data": None,
            "clan": None,
            "collectibles": None,
            "discriminator": "0",
            "global_name": "kprasch",
            "id": "410212090289192960",
            "primary_guild": None,
            "public_flags": 0,
            "username": "kprasch",
        },
    },
    "token": "",
    "type": 2,
    "version": 1,
}
PLAIN_MEMBER = "2222085186637376"  # a member's permissions as Discord sends them: not Administrator, not Manage Server
CAPTURED = "02_slash_command_guild_signed_2025.json"


def load_template(folder: Path) -> tuple[dict[str, Any], str]:
    path = folder / CAPTURED
    if path.is_file():
        return json.loads(path.read_text()), f"captured {CAPTURED}"
    return copy.deepcopy(BUILT_IN), f"built-in copy of its shape ({path} not found)"


class Payloads:
    """Interactions in the captured payload's shape: every field, a real-size token, string permissions."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.template = template
        self.guild = template["guild_id"]

    def command(self, iid: int, user: str, name: str, options: list[dict[str, Any]], permissions: str) -> bytes:
        payload = copy.deepcopy(self.template)
        payload["id"] = str(iid)
        payload["data"] = {"id": "1380515955146358918", "name": name, "options": options, "type": 1}
        # Discord's tokens: "interaction:<id>:<128 random characters>", base64url (about 210 characters).
        raw = f"interaction:{iid}:{secrets.token_urlsafe(96)}".encode()
        payload["token"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        member = payload["member"]
        member["permissions"] = permissions
        member["user"] |= {"id": user, "username": f"trader{user[-6:]}", "global_name": f"Trader {user[-6:]}"}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


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


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (the uvicorn workers), from /proc."""
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            pending += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU of every Postgres server process (the backends serving the bets among them)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in ("postgres", "postmaster"):
                continue
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            continue
    return total


def sessions_opened() -> int:
    """Connections opened to the scratch database so far (pool churn shows here)."""
    out = subprocess.run(
        ["psql", f"{PG}/postgres", "-At", "-c", f"SELECT sessions FROM pg_stat_database WHERE datname = '{DB}'"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return int(out or 0)


def redis_cpu_seconds() -> float:
    """The Redis server's own CPU (user + system) so far, from INFO: it shares the machine's cores too."""
    out = subprocess.run(["redis-cli", "INFO", "cpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return float(fields.get("used_cpu_user", 0)) + float(fields.get("used_cpu_sys", 0))


async def scrape(port: int) -> dict[str, float]:
    """The server's /metrics, each series summed over its labels (`name` -> value)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    status, body = await send(reader, writer, f"GET /metrics HTTP/1.1\r\nHost: x:{port}\r\n\r\n".encode())
    writer.close()
    totals: dict[str, float] = {}
    for line in body.decode().splitlines() if status == 200 else ():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            name = series.partition("{")[0]
            totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def where_the_time_went(before: dict[str, float], after: dict[str, float]) -> str:
    """Means over the measured load, from the server's own histograms."""

    def mean(metric: str) -> tuple[float, float]:
        count = after.get(f"{metric}_count", 0.0) - before.get(f"{metric}_count", 0.0)
        total = after.get(f"{metric}_sum", 0.0) - before.get(f"{metric}_sum", 0.0)
        return count, total / count if count else 0.0

    _, served = mean("hunch_interaction_duration_seconds")
    batches, size = mean("hunch_trade_batch_size")
    transactions, transaction = mean("hunch_db_transaction_duration_seconds")
    statements, statement = mean("hunch_db_statement_duration_seconds")
    if not batches:
        return "no /metrics from the server"
    return (
        f"server time {served * 1000:.1f} ms; {batches:,.0f} trade batches of {size:.1f} on average;"
        f" {transactions:,.0f} transactions of {transaction * 1000:.1f} ms, {statements:,.0f} statements of"
        f" {statement * 1000:.2f} ms (means)"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Figures:
    label: str
    bets_per_s: float
    latencies: list[float]
    first: list[float]
    outcomes: dict[str, int]
    verify: str
    cpu_ms_per_bet: float
    postgres_cpu_ms_per_bet: float
    redis_cpu_ms_per_bet: float
    sessions: int
    breakdown: str


def server_env(database: str, *, pool_size: int, workers: int | None, redis_db: int | None) -> dict[str, str]:
    """The server's environment on the scratch `database`: limits in Redis database `redis_db` (emptied first), or
    in Postgres when it is None; `workers` server processes, or as many as `serve` chooses when None."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WEB_CONCURRENCY")} | {
        "DATABASE_URL": f"{PG}/{database}",
        "DISCORD_PUBLIC_KEY": KEY.verify_key.encode().hex(),
        "HUNCH_ENV": "prod",
        "LOG_LEVEL": "WARNING",
        "GUILD_TRADE_RATE_LIMIT": "1000000",
        "DATABASE_POOL_SIZE": str(pool_size),
        "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/v10",  # the worker's calls to Discord fail at once
    }
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    if redis_db is not None:
        env["REDIS_URL"] = f"redis://127.0.0.1:6379/{redis_db}"
        subprocess.run(["redis-cli", "-n", str(redis_db), "FLUSHDB"], check=False, capture_output=True)
    return env


def serve_default_workers() -> int:
    """How many processes `python -m app serve` starts here against the benchmark's Postgres."""
    env = server_env(DB, pool_size=4, workers=None, redis_db=None)
    code = (
        "from app.cli import serve_workers; from app.settings import get_settings;"
        " print(serve_workers(get_settings(), None))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return int(done.stdout)


CONFIGURATIONS = (("REDIS_URL set", True), ("no REDIS_URL (limits held in Postgres)", False))


async def run_configuration(args: argparse.Namespace, payloads: Payloads, label: str, redis: bool) -> Figures:
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    env = server_env(
        DB, pool_size=max(4, args.concurrency // args.workers), workers=args.workers, redis_db=14 if redis else None
    )
    python = sys.executable
    subprocess.run([python, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = subprocess.Popen([python, "-m", "app", "serve", "--port", str(args.port)], cwd=ROOT, env=env)
    try:
        await wait_ready(args.port)
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
        question = {"name": "question", "type": 3, "value": "Benchmark: will the hot market hold?"}
        liquidity = {"name": "liquidity", "type": 4, "value": 100000}
        create = [{"name": "create", "type": 1, "options": [question, liquidity]}]
        raw = request_bytes(payloads.command(1, ADMIN, "market", create, "8"), args.port)
        status, body = await send(reader, writer, raw)
        assert status == 200 and b"#1" in body, body
        writer.close()

        def bet(i: int) -> bytes:
            options = [
                {"name": "market", "type": 3, "value": "1"},
                {"name": "outcome", "type": 3, "value": "Yes" if i % 3 else "No"},
                {"name": "amount", "type": 4, "value": 1},
            ]
            user = str(200_000_000_000_000_000 + i % args.members)
            return request_bytes(payloads.command(10_000 + i, user, "bet", options, PLAIN_MEMBER), args.port)

        bets = [bet(i) for i in range(args.requests)]
        warm = bets[: args.concurrency * 4]
        await load(args.port, warm, args.concurrency)  # warm pools, caches and the first-touch path
        metrics_before = await scrape(args.port)
        cpu_before, postgres_before, redis_before, sessions_before = (
            cpu_seconds(server.pid),
            postgres_cpu_seconds(),
            redis_cpu_seconds(),
            sessions_opened(),
        )
        elapsed, latencies, first, outcomes = await load(
            args.port, bets[len(warm) :], args.concurrency, first_touch=max(0, args.members - len(warm))
        )
        cpu = cpu_seconds(server.pid) - cpu_before
        postgres_cpu = postgres_cpu_seconds() - postgres_before
        redis_cpu = redis_cpu_seconds() - redis_before
        sessions = sessions_opened() - sessions_before
        breakdown = where_the_time_went(metrics_before, await scrape(args.port))
    finally:
        server.terminate()
        server.wait(timeout=10)
    verify = subprocess.run([python, "-m", "app", "verify-ledger"], cwd=ROOT, env=env, capture_output=True, text=True)
    psql(f"DROP DATABASE IF EXISTS {DB}")
    bets = outcomes.get("bet", 0)
    return Figures(
        label,
        bets / elapsed,
        latencies,
        first,
        outcomes,
        verify.stdout.strip(),
        cpu * 1000 / max(1, bets),
        postgres_cpu * 1000 / max(1, bets),
        redis_cpu * 1000 / max(1, bets),
        sessions,
        breakdown,
    )


def report(figures: Figures, tps: float | None, target_ratio: float, target_p99_ms: float) -> None:
    p99 = percentile(figures.latencies, 0.99) * 1000
    print(f"{figures.label}: {len(figures.latencies)} requests")
    print(f"  outcomes: {figures.outcomes}")
    print(
        f"  {figures.bets_per_s:,.0f} bets/s, p50 {percentile(figures.latencies, 0.5) * 1000:.1f} ms,"
        f" p99 {p99:.1f} ms, mean {statistics.fmean(figures.latencies) * 1000:.1f} ms"
    )
    if figures.first:
        print(
            f"  members' first bets: {len(figures.first)}, p50 {percentile(figures.first, 0.5) * 1000:.1f} ms,"
            f" p99 {percentile(figures.first, 0.99) * 1000:.1f} ms"
        )
    print(
        f"  CPU per bet (user + system): server {figures.cpu_ms_per_bet:.2f} ms,"
        f" Postgres {figures.postgres_cpu_ms_per_bet:.2f} ms, Redis {figures.redis_cpu_ms_per_bet:.2f} ms;"
        f" connections opened during the run: {figures.sessions}"
    )
    print(f"  {figures.breakdown}")
    print(f"  verify-ledger: {figures.verify}")
    if tps:
        ratio = figures.bets_per_s / tps
        print(f"  pgbench reference (the runs before and after it): {tps:,.0f} tps")
        met = ratio >= target_ratio and p99 <= target_p99_ms
        print(
            f"  ratio to pgbench {ratio:.2f}x (target >= {target_ratio}x), p99 {p99:.0f} ms"
            f" (target <= {target_p99_ms:.0f} ms): {'met' if met else 'MISSED'}"
        )


async def main_async(args: argparse.Namespace) -> None:
    template, source = load_template(args.payloads)
    payloads = Payloads(template)
    bet = [{"name": "market", "type": 3, "value": "1"}, {"name": "amount", "type": 4, "value": 1}]
    size = len(payloads.command(10_000, "200000000000000000", "bet", bet, PLAIN_MEMBER))
    print(f"payloads: {source}; a /bet body is {size:,} bytes")
    if args.workers is None:
        args.workers = serve_default_workers()
        chosen = "as `serve` chooses on this machine"
    else:
        chosen = "--workers"
    shape = f"{args.concurrency} connections, {args.workers} server processes ({chosen})"
    print(f"{args.requests:,} bets from {args.members:,} members, {shape}")
    # pgbench before, between and after the configurations: each one's reference is the mean of the two runs
    # around it, so a machine whose speed drifts over the run (a shared one) moves the reference with it.
    has_pgbench = shutil.which("pgbench") is not None
    wanted = [
        (label, redis) for label, redis in CONFIGURATIONS if args.config in ("both", "redis" if redis else "postgres")
    ]
    references = [pgbench(32, args.pgbench_seconds)] if has_pgbench else []
    runs = []
    for label, redis in wanted:
        runs.append(await run_configuration(args, payloads, label, redis=redis))
        if has_pgbench:
            references.append(pgbench(32, args.pgbench_seconds))
    print()
    if has_pgbench:
        shown = ", ".join(f"{tps:,.0f}" for tps in references)
        print(f"pgbench TPC-B (scale 1, -c 32 -j 2 -T {args.pgbench_seconds}), before, between and after: {shown} tps")
    else:
        print("pgbench not found: no ratio")
    for i, figures in enumerate(runs):
        redis = figures.label.startswith("REDIS")
        tps = statistics.fmean(references[i : i + 2]) if has_pgbench else None
        report(figures, tps, 0.7 if redis else 0.5, 60 if redis else 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=12000)
    parser.add_argument("--members", type=int, default=6000, help="distinct members (about half the bets are firsts)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="server processes (default: as `serve` chooses)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--config", choices=("both", "redis", "postgres"), default="both")
    parser.add_argument(
        "--payloads", type=Path, default=ROOT.parent / "shared" / "discord" / "payloads", help="captured payloads"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
