"""Benchmark: the price chart's renderer (Pillow) against matplotlib, and `/market chart` on 100,000 trades.

    .venv/bin/python bench/bench_chart.py [--runs 30] [--trades 100000] [--no-database]

Prints, for Pillow (what Hunch uses) and matplotlib (when installed: `.venv/bin/pip install matplotlib`; it is
not one of Hunch's requirements):

  import      - importing the renderer in a fresh `python -c` (median of 5)
  first chart - a fresh process's import and first chart (what a cold Lambda pays on its first /market chart;
                it includes importing Hunch's chart module, the same for both, so the difference is the renderer's)
  render      - a warm chart of 2 and 10 outcomes over 722 points (the most a chart reads), median and p95,
                and of 100,000 points (a chart drawn from every trade of a busy market, without the history)
  png         - the PNG's size
  installed   - the size on disk of the renderer's distribution and all it requires (before the Lambda build
                strips them; the packaged Lambda artifact's growth is measured with infra/lambda/build.py)

Then (unless --no-database) creates a scratch database `hunch_bench_chart`, seeds a market with 100,000
`trade.executed` events (one SQL statement), projects them into the price history through the worker's
consumer (timed), and sends `/market chart` for each period as signed interactions through the ASGI app in
this process: the server time of each (signature, the bounded read, rendering, the multipart body). The
target is under 50 ms. The scratch database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import io
import json
import math
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain.price_history import MAX_POINTS  # noqa: E402
from handlers.render.chart import ChartData, render_chart  # noqa: E402
from handlers.render.style import CHART_INK, CHART_MUTED, CHART_PAPER, CHART_RULE, OUTCOME_COLORS  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
DB = "hunch_bench_chart"
GUILD = 900000000000000555
START = datetime(2026, 9, 1, tzinfo=UTC)

PILLOW_IMPORT = "from PIL import Image, ImageDraw, ImageFont; ImageFont.load_default(size=26)"
MATPLOTLIB_IMPORT = "import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"
PILLOW_FIRST = f"""
import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "bench")!r})
from bench_chart import data; from handlers.render.chart import render_chart; render_chart(data(2, 722))"""
MATPLOTLIB_FIRST = f"""
import sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "bench")!r})
from bench_chart import data, render_matplotlib; render_matplotlib(data(2, 722))"""


def data(outcomes: int, points: int) -> ChartData:
    """A chart over a week whose probabilities move at every point (the hardest case to draw and compress)."""
    rows = []
    for i in range(points):
        weights = [1.5 + math.sin(i / (7 + 3 * k) + k) for k in range(outcomes)]
        total = sum(weights)
        rows.append(tuple(w / total for w in weights))
    step = timedelta(days=7) / points
    times = [START + step * i for i in range(points)]
    labels = ["Yes", "No"] if outcomes == 2 else [f"Candidate {k + 1}" for k in range(outcomes)]
    return ChartData(labels, times, rows, times[0], times[-1], [Decimal(str(round(p, 4))) for p in rows[-1]])


def _hex(color: int) -> str:
    return f"#{color:06x}"


def render_matplotlib(chart: ChartData) -> bytes:
    """The same chart with matplotlib (Agg): stepped lines, legend, grid, 800 x 400 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4), dpi=100, facecolor=_hex(CHART_PAPER))
    axes.set_facecolor(_hex(CHART_PAPER))
    for index, label in enumerate(chart.labels):
        ys = [p[index] for p in chart.probabilities]
        axes.step(chart.times, ys, where="post", color=_hex(OUTCOME_COLORS[index]), linewidth=2, label=label)
    axes.set_ylim(0, 1)
    axes.grid(axis="y", color=_hex(CHART_RULE))
    axes.tick_params(colors=_hex(CHART_MUTED))
    axes.legend(ncol=5, loc="upper left", frameon=False, labelcolor=_hex(CHART_INK), fontsize=8)
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor=_hex(CHART_PAPER))
    plt.close(figure)
    return out.getvalue()


def fresh_seconds(code: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        wrapped = f"import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
        done = subprocess.run([sys.executable, "-c", wrapped], capture_output=True, text=True, check=True)
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def timed(render: Callable[[ChartData], bytes], chart: ChartData, runs: int) -> tuple[float, float, int]:
    render(chart)  # warm
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = len(render(chart))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], size


def closure(name: str) -> set[str]:
    """The distribution and everything it requires (without extras), as installed here."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = re.split(r"[\s\[;<>=!~(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if current in seen:
            continue
        seen.add(current)
        for requirement in importlib.metadata.requires(current) or []:
            if "extra ==" not in requirement:
                todo.append(requirement)
    return seen


def installed_mb(name: str) -> float:
    """What the distribution and its requirements take on disk, before the Lambda build strips them."""
    total = 0
    for found in closure(name):
        files = importlib.metadata.distribution(found).files or []
        total += sum(f.locate().stat().st_size for f in files if Path(f.locate()).is_file())
    return total / 1e6


def compare(runs: int) -> None:
    renderers: dict[str, tuple[Callable[[ChartData], bytes], str, str]] = {
        "pillow": (render_chart, PILLOW_IMPORT, PILLOW_FIRST)
    }
    try:
        import matplotlib  # noqa: F401

        renderers["matplotlib"] = (render_matplotlib, MATPLOTLIB_IMPORT, MATPLOTLIB_FIRST)
    except ImportError:
        print("matplotlib is not installed: only Pillow is measured (.venv/bin/pip install matplotlib to compare)")
    cases = [(2, MAX_POINTS + 2), (10, MAX_POINTS + 2), (2, 100_000), (10, 100_000)]
    print(f"{'renderer':<11} {'import ms':>9} {'first chart ms':>14} {'installed MB':>12}")
    for name, (_, imports, first) in renderers.items():
        size = installed_mb(name)
        print(f"{name:<11} {fresh_seconds(imports) * 1000:>9.0f} {fresh_seconds(first) * 1000:>14.0f} {size:>12.1f}")
    print()
    print(f"{'renderer':<11} {'outcomes':>8} {'points':>8} {'p50 ms':>8} {'p95 ms':>8} {'png KB':>7}")
    for name, (render, _, _) in renderers.items():
        for outcomes, points in cases:
            chart = data(outcomes, points)
            p50, p95, size = timed(render, chart, runs if points < 10_000 else max(3, runs // 10))
            print(f"{name:<11} {outcomes:>8} {points:>8,} {p50:>8.1f} {p95:>8.1f} {size / 1024:>7.1f}")


def psql(sql: str, db: str = "postgres") -> None:
    done = subprocess.run(
        ["psql", f"{PG}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"psql failed: {done.stderr.strip()}\n{sql}")


def seed(trades: int) -> None:
    t0 = START.isoformat()
    psql(
        f"""INSERT INTO guilds (id, starting_balance, daily_bonus, default_liquidity, default_duration_seconds,
              max_stake, currency_name, next_market_number, created_at)
            VALUES ({GUILD}, 1000, 100, 1000, 604800, 100000, 'points', 2, '{t0}');
        INSERT INTO markets (guild_id, number, question, description, outcomes, shares, liquidity, status,
              creator_id, volume, trade_count, closes_at, created_at)
            VALUES ({GUILD}, 1, 'Busy?', '', '["Yes", "No"]'::json, '[0, 0]'::json, 1000, 'open', 7, {trades},
              {trades}, now() + interval '300 days', '{t0}');
        INSERT INTO events (id, guild_id, type, version, aggregate_type, aggregate_id, sequence, occurred_at,
              actor_id, payload)
            SELECT lpad(i::text, 36, '0'), {GUILD}, 'trade.executed', 1, 'market', m.id, i + 1,
              '{t0}'::timestamptz + i * interval '1 minute', 7,
              json_build_object('number', 1, 'user_id', 7, 'side', 'buy', 'outcome', 0, 'points', 1, 'shares', 1,
                'probabilities', json_build_array((0.5 + 0.4 * sin(i / 500.0))::text,
                  (0.5 - 0.4 * sin(i / 500.0))::text), 'volume', i, 'trade_count', i)
            FROM markets m, generate_series(1, {trades}) i WHERE m.guild_id = {GUILD};
        ANALYZE;""",
        DB,
    )


async def end_to_end(runs: int, trades: int) -> None:
    import httpx
    from nacl.signing import SigningKey

    from app.bootstrap import bootstrap
    from app.ratelimit import MemoryRateLimiter
    from app.services import event_log
    from app.services.consumers.price_history import PriceHistory
    from app.settings import Settings
    from app.web import create_app

    key = SigningKey(b"c" * 32)
    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=f"{PG}/{DB}", DISCORD_PUBLIC_KEY=key.verify_key.encode().hex(), LOG_LEVEL="WARNING"
    )
    hunch = bootstrap(settings, rate_limiter=MemoryRateLimiter())
    started = time.perf_counter()
    count = await event_log.replay(hunch.transactions, [PriceHistory(hunch.transactions)])
    elapsed = time.perf_counter() - started
    print(f"projected {count:,} trade events into the price history in {elapsed:.1f} s ({count / elapsed:,.0f}/s)")

    transport = httpx.ASGITransport(app=create_app(settings, hunch))
    n = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.bench") as client:
        print(f"{'/market chart period':<22} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'png KB':>7}")
        for period in ("1d", "1w", "1m", "all"):
            times, size = [], 0
            for _ in range(runs + 5):
                n += 1
                body = json.dumps(
                    {
                        "id": str(1300000000000000000 + n),
                        "application_id": "1100000000000000000",
                        "type": 2,
                        "token": "bench-token",
                        "version": 1,
                        "guild_id": str(GUILD),
                        "channel_id": "1200000000000000000",
                        "member": {"user": {"id": "10000000000000007", "username": "bench"}, "permissions": "0"},
                        "data": {
                            "id": "1000000000000000001",
                            "name": "market",
                            "type": 1,
                            "options": [
                                {
                                    "name": "chart",
                                    "type": 1,
                                    "options": [
                                        {"name": "market", "type": 3, "value": "1"},
                                        {"name": "period", "type": 3, "value": period},
                                    ],
                                }
                            ],
                        },
                    }
                ).encode()
                ts = str(int(time.time()))
                headers = {
                    "X-Signature-Ed25519": key.sign(ts.encode() + body).signature.hex(),
                    "X-Signature-Timestamp": ts,
                    "Content-Type": "application/json",
                }
                started = time.perf_counter()
                response = await client.post("/interactions", content=body, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
                assert response.headers["content-type"].startswith("multipart/form-data"), response.text[:300]
                size = len(response.content)
            times = sorted(times[5:])
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"{period:<22} {statistics.median(times):>7.1f} {p99:>7.1f} {times[-1]:>7.1f} {size / 1024:>7.1f}")
    await hunch.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--no-database", action="store_true", help="only compare the renderers")
    args = parser.parse_args()
    compare(args.runs)
    if args.no_database:
        return
    from app.persistence.migrations import upgrade
    from app.settings import Settings

    print()
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    try:
        upgrade(Settings(DATABASE_URL=f"{PG}/{DB}"))  # type: ignore[call-arg]
        started = time.perf_counter()
        seed(args.trades)
        print(f"seeded a market with {args.trades:,} trade events in {time.perf_counter() - started:.1f} s")
        asyncio.run(end_to_end(args.runs, args.trades))
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
