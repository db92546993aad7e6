"""Benchmark: settling markets with 1,000, 20,000 and 100,000 holders on Postgres.

    .venv/bin/python bench/bench_settle.py [--holders 1000,20000,100000] [--resolve-only] [--database NAME]

Creates (and afterwards drops) a scratch database (`hunch_bench_settle`), builds one market per size through the
use cases (each holder buys, in large batches), then resolves it as a moderator would (`/market resolve`: the
use case in its own transaction, recorded under an interaction id) and prints the wall time of the
settlement alone, with the payouts checked against the positions. At 20,000 holders it also times a weighted
resolution and a cancellation (not with `--resolve-only`). Each resolution is then unresolved (`/market
unresolve`: every payout taken back) and resolved again, both timed. `verify-ledger` must be clean at the end.
`--database` names the scratch database, so two runs can go side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain.actor import Actor  # noqa: E402
from app.persistence.database import Database  # noqa: E402
from app.persistence.migrations import upgrade  # noqa: E402
from app.persistence.unit_of_work import Transactions  # noqa: E402
from app.services import settlement, unresolve  # noqa: E402
from app.services.idempotency import execute  # noqa: E402
from app.services.results import Settlement, Unresolved  # noqa: E402
from app.services.verify import verify_ledger  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.support.seeding import market_with_holders  # noqa: E402

PG = "postgresql://postgres@127.0.0.1:5432"
GUILD = 900000000000000555


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{PG}/postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True
    )


async def settle(transactions: Transactions, kind: str, number: int, interaction_id: int) -> tuple[float, Settlement]:
    actor = Actor(GUILD, 1, is_manager=True, interaction_id=interaction_id)
    works = {
        "resolve": lambda uow: settlement.resolve_market(uow, actor, number, "Yes"),
        "resolve weighted": lambda uow: settlement.resolve_market_weighted(uow, actor, number, "Yes 60, No 40"),
        "cancel": lambda uow: settlement.cancel_market(uow, actor, number, "benchmark"),
    }
    started = time.perf_counter()
    result = await execute(transactions, actor, f"market.{kind}", Settlement, works[kind])
    return time.perf_counter() - started, result


async def unsettle(transactions: Transactions, number: int, interaction_id: int) -> tuple[float, Unresolved]:
    actor = Actor(GUILD, 1, is_manager=True, interaction_id=interaction_id)
    started = time.perf_counter()
    result = await execute(
        transactions, actor, "market.unresolve", Unresolved, lambda uow: unresolve.unresolve_market(uow, actor, number)
    )
    return time.perf_counter() - started, result


async def main_async(database_name: str, sizes: list[int], resolve_only: bool) -> None:
    settings = Settings(DATABASE_URL=f"{PG}/{database_name}", DATABASE_POOL_SIZE=4)  # type: ignore[call-arg]
    database = Database(settings)
    transactions = Transactions(database)
    first_user, interaction = 10**15, 10**18
    try:
        print(f"{'holders':>8}  {'settlement':<17} {'seconds':>8}  {'paid':>6}")
        for size in sizes:
            kinds = ["resolve", "resolve weighted", "cancel"] if size == 20_000 and not resolve_only else ["resolve"]
            for kind in kinds:
                holders = range(first_user, first_user + size)
                first_user += size
                started = time.perf_counter()
                market = await market_with_holders(transactions, GUILD, holders, batch=1000)
                seeded = time.perf_counter() - started
                interaction += 1
                seconds, result = await settle(transactions, kind, market.number, interaction)
                print(f"{size:>8,}  {kind:<17} {seconds:>8.2f}  {result.paid_count:>6,}  (seeded in {seeded:.0f} s)")
                if kind == "resolve":
                    interaction += 1
                    seconds, undone = await unsettle(transactions, market.number, interaction)
                    print(f"{size:>8,}  {'unresolve':<17} {seconds:>8.2f}  {undone.members:>6,}")
                    interaction += 1
                    seconds, result = await settle(transactions, kind, market.number, interaction)
                    print(f"{size:>8,}  {'resolve again':<17} {seconds:>8.2f}  {result.paid_count:>6,}")
        problems = await transactions.run(verify_ledger)
        print("verify-ledger:", "OK" if not problems else f"{len(problems)} violations: {problems[:3]}")
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--holders", default="1000,20000,100000", help="comma-separated market sizes")
    parser.add_argument("--resolve-only", action="store_true", help="at 20,000 holders too, only resolve")
    parser.add_argument("--database", default="hunch_bench_settle", help="the scratch database (dropped after)")
    args = parser.parse_args()
    psql(f"DROP DATABASE IF EXISTS {args.database}")
    psql(f"CREATE DATABASE {args.database}")
    try:
        upgrade(Settings(DATABASE_URL=f"{PG}/{args.database}"))  # type: ignore[call-arg]
        sizes = [int(n) for n in args.holders.split(",")]
        asyncio.run(main_async(args.database, sizes, args.resolve_only))
    finally:
        psql(f"DROP DATABASE IF EXISTS {args.database}")


if __name__ == "__main__":
    main()
