"""Benchmark the market maker: quotes and trades per second for N = 2 and N = 10.

    .venv/bin/python bench/bench_lmsr.py [--iterations 20000]

Each figure is the best of 5 timed runs of `--iterations` calls on a market skewed by earlier trades,
measured with time.process_time (CPU, not wall time). A trade is a quote applied: the same call.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.domain import lmsr


def skewed(n: int, liquidity: int = 10_000) -> lmsr.MarketState:
    state = lmsr.new_market(n, liquidity)
    for i, amount in enumerate((700, 2_500, 90, 4_000)):
        state = lmsr.buy(state, i % n, amount).state
    return state


def per_second(call: Callable[[], object], iterations: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        for _ in range(iterations):
            call()
        best = min(best, time.process_time() - started)
    return iterations / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    print(f"{'operation':<28}{'N':>4}{'ops/s':>12}{'µs/op':>10}")
    for n in (2, 10):
        state = skewed(n)
        held = lmsr.buy(state, 1, 500).shares
        cases: list[tuple[str, Callable[[], object]]] = [
            ("prices", lambda s=state: lmsr.prices(s)),
            ("quote buy (100 points)", lambda s=state: lmsr.quote_buy(s, 1, 100)),
            ("quote sell (all held)", lambda s=state, h=held: lmsr.quote_sell(s, 1, h, held=h)),
            ("trade: buy", lambda s=state: lmsr.buy(s, 0, 25)),
            ("trade: sell 100 shares", lambda s=state, h=held: lmsr.sell(s, 1, Decimal(100), held=h)),
            ("position value", lambda s=state, h=held: lmsr.points_for_shares(s, 1, h)),
        ]
        for name, call in cases:
            rate = per_second(call, args.iterations)
            print(f"{name:<28}{n:>4}{rate:>12,.0f}{1e6 / rate:>10.1f}")


if __name__ == "__main__":
    main()
