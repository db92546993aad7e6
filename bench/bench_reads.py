"""Benchmark: the reads members make, on a server of 100,000 members, 10,000 markets and 1,000,000 trades.

    .venv/bin/python bench/bench_reads.py [--runs 200] [--members 100000] [--markets 10000] [--trades 1000000]

Creates (and afterwards drops) a scratch database `hunch_bench_reads`, fills it with SQL (generate_series:
accounts with balances, markets in every status, 300,000 positions, a million trades), then sends each read
as a signed Discord interaction through the ASGI app in this process and prints the server time of each:
everything from the raw request to the JSON reply (signature, parsing, the database, rendering), without a
network in between. The target is under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bootstrap import bootstrap  # noqa: E402
from app.domain.actor import Actor  # noqa: E402
from app.persistence.migrations import upgrade  # noqa: E402
from app.ratelimit import MemoryRateLimiter  # noqa: E402
from app.services.record_results import SeasonStart  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.web import create_app  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
DB = "hunch_bench_reads"
GUILD = 900000000000000666
KEY = SigningKey(b"r" * 32)
BUSY = 10**15 + 7  # a member with positions in 200 markets


def psql(sql: str, db: str = "postgres") -> None:
    done = subprocess.run(
        ["psql", f"{PG}/{db}", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"psql failed: {done.stderr.strip()}\n{sql}")


def seed(members: int, markets: int, trades: int) -> None:
    g = GUILD
    statements = [
        f"""INSERT INTO guilds (id, starting_balance, daily_bonus, default_liquidity, default_duration_seconds,
              max_stake, currency_name, next_market_number, created_at)
            VALUES ({g}, 1000, 100, 1000, 604800, 100000, 'points', {markets + 1}, now())""",
        f"INSERT INTO accounts (guild_id, kind, balance, created_at) VALUES ({g}, 'house', 0, now())",
        f"""INSERT INTO accounts (guild_id, kind, user_id, balance, created_at)
            SELECT {g}, 'member', {10**15} + i, (random() * 100000)::bigint, now()
            FROM generate_series(1, {members}) i""",
        f"""INSERT INTO markets (guild_id, number, question, description, outcomes, shares, liquidity, status,
              creator_id, volume, trade_count, closes_at, created_at)
            SELECT {g}, i,
              'Will ' || (ARRAY['rain', 'snow', 'sun', 'wind', 'fog'])[1 + i % 5] || ' come to town ' || i || '?',
              '', '["Yes", "No", "Maybe"]'::json,
              ('[' || (i % 50) * 1000000 || ', ' || (i % 30) * 1000000 || ', ' || (i % 7) * 1000000 || ']')::json,
              1000,
              CASE WHEN i > {markets} * 9 / 10 THEN 'open' WHEN i > {markets} * 8 / 10 THEN 'closed'
                   WHEN i % 10 = 0 THEN 'cancelled' ELSE 'resolved' END,
              {10**15} + i % {members}, i * 10, 100, now() + interval '7 days',
              now() - ({markets} - i) * interval '1 minute'
            FROM generate_series(1, {markets}) i""",
        f"""INSERT INTO accounts (guild_id, kind, market_id, balance, created_at)
            SELECT {g}, 'market', id, 1000, now() FROM markets WHERE guild_id = {g}""",
        "UPDATE markets SET pool_account_id = a.id FROM accounts a WHERE a.market_id = markets.id",
        f"""INSERT INTO positions (market_id, account_id, outcome, shares, paid_in, taken_out)
            SELECT m.id, a.id, k % 3, (1 + k % 97) * 1000000, 10 + k % 90, 0
            FROM generate_series(1, 3) k
            JOIN accounts a ON a.guild_id = {g} AND a.kind = 'member'
            JOIN markets m ON m.guild_id = {g} AND m.number = 1 + (a.id * 7919 + k * 104729) % {markets}
            ON CONFLICT DO NOTHING""",
        f"""INSERT INTO positions (market_id, account_id, outcome, shares, paid_in, taken_out)
            SELECT m.id, a.id, 0, 5000000, 50, 0 FROM accounts a
            JOIN markets m ON m.guild_id = {g} AND m.number > {markets} - 200
            WHERE a.guild_id = {g} AND a.user_id = {BUSY} ON CONFLICT DO NOTHING""",
        f"""WITH held AS (SELECT row_number() OVER () AS n, market_id, account_id, outcome FROM positions),
                 size AS (SELECT count(*) AS n FROM held)
            INSERT INTO trades (guild_id, market_id, account_id, user_id, outcome, side, points, shares,
              prices_after, interaction_id, created_at)
            SELECT {g}, held.market_id, held.account_id, a.user_id, held.outcome, 'buy', 10, 10000000,
                   '["0.4", "0.4", "0.2"]'::json, {10**18} + i, now()
            FROM generate_series(1, {trades}) i
            JOIN held ON held.n = 1 + (i::bigint * 7919) % (SELECT n FROM size)
            JOIN accounts a ON a.id = held.account_id""",
        # Forecasting records as resolutions leave them: a result per position in a resolved market, summed.
        f"""INSERT INTO market_results (market_id, account_id, guild_id, user_id, paid_in, taken_out, payout, brier)
            SELECT p.market_id, p.account_id, {g}, a.user_id, p.paid_in, 0, (p.paid_in * (p.outcome + 1)) % 150,
                   (p.market_id * 7919 + p.account_id) % 2000000
            FROM positions p JOIN markets m ON m.id = p.market_id AND m.status = 'resolved'
            JOIN accounts a ON a.id = p.account_id
            ON CONFLICT DO NOTHING""",
        # Every member's record (most of them ranked by accuracy), as if each had resolved 1-20 markets.
        f"""INSERT INTO member_records (account_id, guild_id, user_id, resolved, won, staked, profit, brier_total,
              scored, qualified_brier)
            SELECT id, {g}, user_id, 1 + id % 20, id % 7, 100 * (1 + id % 20), (id * 7919) % 20000 - 10000,
                   (1 + id % 20) * ((id * 104729) % 1000000), 1 + id % 20,
                   CASE WHEN 1 + id % 20 >= 5 THEN (id * 104729) % 1000000 END
            FROM accounts WHERE guild_id = {g} AND kind = 'member'""",
        f"""INSERT INTO seasons (guild_id, number, name, name_key, started_at, ended_at)
            VALUES ({g}, 1, 'Season 1', 'season 1', now() - interval '30 days', now() - interval '1 day'),
                   ({g}, 2, 'Season 2', 'season 2', now() - interval '1 day', NULL)""",
        f"""INSERT INTO season_standings (season_id, position, user_id, balance)
            SELECT s.id, row_number() OVER (ORDER BY a.balance DESC, a.id), a.user_id, a.balance
            FROM accounts a JOIN seasons s ON s.guild_id = {g} AND s.number = 1
            WHERE a.guild_id = {g} AND a.kind = 'member'""",
        "ANALYZE",
    ]
    for sql in statements:
        psql(sql, DB)


def interaction(n: int, kind: int, data: dict[str, Any], user: int) -> bytes:
    member = {"permissions": "2222085186637376", "roles": [], "user": {"id": str(user), "username": f"u{user}"}}
    payload = {
        "application_id": "1100000000000000000",
        "channel_id": "900000000000000778",
        "context": 0,
        "data": data,
        "guild_id": str(GUILD),
        "id": str(10**18 + 5 * 10**7 + n),
        "locale": "en-US",
        "member": member,
        "token": "aW50ZXJhY3Rpb246YmVuY2g" + "x" * 150,
        "type": kind,
        "version": 1,
    }
    return json.dumps(payload).encode()


def command(name: str, options: list[dict[str, Any]], sub: str | None = None) -> dict[str, Any]:
    if sub:
        options = [{"name": sub, "type": 1, "options": options}]
    return {"id": "1", "name": name, "type": 1, "options": options}


def reads(markets: int) -> dict[str, tuple[int, dict[str, Any]]]:
    shown = str(markets - 5)
    return {
        "/leaderboard": (2, command("leaderboard", [])),
        "/leaderboard by:profit": (2, command("leaderboard", [{"name": "by", "type": 3, "value": "profit"}])),
        "/leaderboard by:accuracy": (2, command("leaderboard", [{"name": "by", "type": 3, "value": "accuracy"}])),
        "/leaderboard season:": (2, command("leaderboard", [{"name": "season", "type": 3, "value": "Season 1"}])),
        "/stats": (2, command("stats", [])),
        "/portfolio (200 positions)": (2, command("portfolio", [])),
        "/balance": (2, command("balance", [])),
        "/market list": (2, command("market", [], "list")),
        "/market list status:all": (2, command("market", [{"name": "status", "type": 3, "value": "all"}], "list")),
        "/market show": (2, command("market", [{"name": "market", "type": 3, "value": shown}], "show")),
        "market autocomplete ('rain')": (
            4,
            command("bet", [{"name": "market", "type": 3, "value": "rain", "focused": True}]),
        ),
        "market autocomplete (empty)": (
            4,
            command("market", [{"name": "market", "type": 3, "value": "", "focused": True}], "resolve"),
        ),
        "outcome autocomplete": (
            4,
            command(
                "bet",
                [
                    {"name": "market", "type": 3, "value": shown},
                    {"name": "outcome", "type": 3, "value": "", "focused": True},
                ],
            ),
        ),
    }


async def measure(runs: int, markets: int, members: int) -> None:
    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=f"{PG}/{DB}", DISCORD_PUBLIC_KEY=KEY.verify_key.encode().hex(), LOG_LEVEL="WARNING"
    )
    hunch = bootstrap(settings, rate_limiter=MemoryRateLimiter())
    transport = httpx.ASGITransport(app=create_app(settings, hunch))
    n = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.bench") as client:
        print(f"{'read':<30} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        for name, (kind, data) in reads(markets).items():
            times = []
            for _ in range(runs + 10):
                n += 1
                body = interaction(n, kind, data, BUSY)
                ts = str(int(time.time()))
                headers = {
                    "X-Signature-Ed25519": KEY.sign(ts.encode() + body).signature.hex(),
                    "X-Signature-Timestamp": ts,
                    "Content-Type": "application/json",
                }
                started = time.perf_counter()
                response = await client.post("/interactions", content=body, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
                reply = response.json()
                assert "went wrong" not in json.dumps(reply), reply
            times = sorted(times[10:])  # the first calls warm the pool and the caches
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"{name:<30} {statistics.median(times):>7.2f} {p99:>7.2f} {times[-1]:>7.2f}")
        # Last, as it changes every balance: a season start, which resets every member. On a server this big the
        # command is acknowledged at once and the worker runs this transaction.
        manager = Actor(GUILD, BUSY, is_manager=True, interaction_id=10**18 + 9 * 10**7)
        started = time.perf_counter()
        done = await hunch.use_cases.start_season(manager, None, 10)
        took = time.perf_counter() - started
        assert isinstance(done, SeasonStart) and done.members_reset == members, done
        print(f"season start, {members:,} members reset (the worker's transaction): {took:.2f} s")
    await hunch.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--markets", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    args = parser.parse_args()
    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    try:
        upgrade(Settings(DATABASE_URL=f"{PG}/{DB}"))  # type: ignore[call-arg]
        started = time.perf_counter()
        seed(args.members, args.markets, args.trades)
        print(
            f"seeded {args.members:,} members, {args.markets:,} markets, {args.trades:,} trades "
            f"in {time.perf_counter() - started:.0f} s"
        )
        asyncio.run(measure(args.runs, args.markets, args.members))
    finally:
        psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
