"""What measuring costs an interaction.

    .venv/bin/python bench/bench_metrics.py [--bets 400] [--rounds 5]

Sends signed `/bet`s through the ASGI app (in process, on a fresh migrated SQLite file) with a recorder that
keeps every measurement, and prints how many a bet records. Then replays exactly those measurements through
each exporter (prometheus-client in one process and in multiprocess mode, and the EMF recorder with its flush
at the end of each invocation) and prints the cost per bet, as the median of `--rounds`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEY_SEED = b"m" * 32
GUILD = "900000000000000777"

Recorded = list[tuple[str, float, dict[str, str]]]


class Keeper:
    def __init__(self) -> None:
        self.kept: Recorded = []

    def record(self, metric: Any, value: float, labels: Mapping[str, str]) -> None:
        self.kept.append((metric.name, value, dict(labels)))


def interaction(iid: int, user: str, name: str, options: list[dict[str, Any]], permissions: str = "0") -> bytes:
    payload = {
        "application_id": "1100000000000000000",
        "channel_id": "900000000000000778",
        "data": {"id": "1", "name": name, "options": options, "type": 1},
        "guild_id": GUILD,
        "id": str(iid),
        "member": {"permissions": permissions, "roles": [], "user": {"id": user, "username": f"u{user}"}},
        "token": "aW50ZXJhY3Rpb246YmVuY2g",
        "type": 2,
        "version": 1,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def record_bets(bets: int) -> tuple[Recorded, int]:
    """The measurements of `bets` signed /bets (each by a member who already traded): (measurements, bets)."""
    import httpx
    from nacl.signing import SigningKey

    from app import telemetry
    from app.bootstrap import bootstrap
    from app.persistence.migrations import upgrade
    from app.ratelimit import MemoryRateLimiter
    from app.settings import Settings
    from app.web import create_app

    key = SigningKey(KEY_SEED)
    path = Path(tempfile.mkdtemp()) / "metrics.sqlite3"
    settings = Settings(  # type: ignore[call-arg]
        DISCORD_PUBLIC_KEY=key.verify_key.encode().hex(),
        DATABASE_URL=f"sqlite:///{path}",
        LOG_LEVEL="WARNING",
        TRADE_RATE_LIMIT=1_000_000,
        GUILD_TRADE_RATE_LIMIT=1_000_000,
    )
    await asyncio.to_thread(upgrade, settings, "head")
    hunch = bootstrap(settings, rate_limiter=MemoryRateLimiter())
    app = create_app(settings, hunch)

    def signed(body: bytes) -> dict[str, str]:
        ts = str(int(time.time()))
        return {"X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex(), "X-Signature-Timestamp": ts}

    def bet(i: int) -> bytes:
        options = [
            {"name": "market", "type": 3, "value": "1"},
            {"name": "outcome", "type": 3, "value": "Yes" if i % 2 else "No"},
            {"name": "amount", "type": 4, "value": 1},
        ]
        return interaction(10_000 + i, str(200_000_000_000_000_000 + i % 20), "bet", options)

    question = [{"name": "question", "type": 3, "value": "Benchmark?"}]
    create = interaction(1, "100000000000000001", "market", [{"name": "create", "type": 1, "options": question}], "8")
    keeper = Keeper()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        assert b"#1" in (await client.post("/interactions", content=create, headers=signed(create))).content
        for i in range(20):  # every member's first trade (it opens their account) before measuring
            body = bet(i)
            reply = (await client.post("/interactions", content=body, headers=signed(body))).content
            assert b"Bought" in reply, reply
        telemetry.install(keeper)
        for i in range(20, 20 + bets):
            body = bet(i)
            reply = (await client.post("/interactions", content=body, headers=signed(body))).content
            assert b"Bought" in reply, reply
        telemetry.install()
    await hunch.aclose()
    return keeper.kept, bets


REPLAY = """
import json, sys, time
sys.path.insert(0, {root!r})
from app import telemetry
from app.observability.prometheus import PrometheusRecorder
metrics = {{m.name: m for m in telemetry.VOCABULARY}}
kept = [(metrics[name], value, labels) for name, value, labels in json.load(sys.stdin)]
recorder = PrometheusRecorder()
best = []
for _ in range({rounds}):
    started = time.perf_counter()
    for metric, value, labels in kept:
        recorder.record(metric, value, labels)
    best.append(time.perf_counter() - started)
print(json.dumps(best))
"""


def replay_multiprocess(kept: Recorded, rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": directory}
        out = subprocess.run(
            [sys.executable, "-c", REPLAY.format(root=str(ROOT), rounds=rounds)],
            input=json.dumps(kept),
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    times: list[float] = json.loads(out)
    return times


def replay(kept: Recorded, rounds: int, bets: int) -> dict[str, float]:
    """Median µs per bet of each exporter."""
    import io

    from app import telemetry
    from app.observability.emf import EmfRecorder
    from app.observability.prometheus import PrometheusRecorder

    metrics = {m.name: m for m in telemetry.VOCABULARY}
    resolved = [(metrics[name], value, labels) for name, value, labels in kept]
    per_bet = len(resolved) // bets
    results: dict[str, list[float]] = {"prometheus (one process)": [], "EMF (a flush per bet)": []}
    for _ in range(rounds):
        prometheus = PrometheusRecorder()
        started = time.perf_counter()
        for metric, value, labels in resolved:
            prometheus.record(metric, value, labels)
        results["prometheus (one process)"].append(time.perf_counter() - started)
        emf = EmfRecorder(io.StringIO())
        started = time.perf_counter()
        for i, (metric, value, labels) in enumerate(resolved):
            emf.record(metric, value, labels)
            if (i + 1) % per_bet == 0:
                emf.flush()
        emf.flush()
        results["EMF (a flush per bet)"].append(time.perf_counter() - started)
    results["prometheus (multiprocess files)"] = replay_multiprocess(kept, rounds)
    return {name: statistics.median(times) / bets * 1e6 for name, times in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bets", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    kept, bets = asyncio.run(record_bets(args.bets))
    names: dict[str, int] = {}
    for name, _, _ in kept:
        names[name] = names.get(name, 0) + 1
    print(f"measurements per signed /bet (SQLite, in process): {len(kept) / bets:.1f}")
    for name, count in sorted(names.items(), key=lambda item: -item[1]):
        print(f"  {name}: {count / bets:.1f}")
    for exporter, micros in replay(kept, args.rounds, bets).items():
        print(f"{exporter}: {micros:.1f} µs per /bet (median of {args.rounds} replays)")


if __name__ == "__main__":
    main()
