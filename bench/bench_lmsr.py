"""Benchmark the market maker: quotes and trades per second for N = 2 and N = 10.

    .venv/bin/python bench/bench_lmsr.py [--iterations 2000] [--repeats 3]

Each figure is the best of ``--repeats`` runs of ``--iterations`` calls, timed with time.perf_counter
(wall) and time.process_time (CPU), on a market skewed by earlier trades (L = 10,000).

"cold" rebuilds the MarketState from its stored shares on every call, as a service does after reading
the market row, so it pays for analysing the state (one exp per outcome); "warm" reuses one state
object, whose analysis is cached. A trade is the service's path: rebuild the state, apply the quote,
then read prices(result.state) for the new probabilities (free: the trade leaves it cached).
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

LIQUIDITY = 10_000


def skewed(n: int) -> lmsr.MarketState:
    state = lmsr.new_market(n, LIQUIDITY)
    for i, amount in enumerate((700, 2_500, 90, 4_000)):
        state = lmsr.buy(state, i % n, amount).state
    return state


def timed(call: Callable[[], object], iterations: int, repeats: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) per call."""
    wall = cpu = float("inf")
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iterations):
            call()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall / iterations, cpu / iterations


def cases(n: int) -> list[tuple[str, Callable[[], object]]]:
    state = skewed(n)
    shares = state.shares
    leader = shares.index(max(shares))
    other = 1 if leader != 1 else 0
    held = Decimal(100)

    def fresh() -> lmsr.MarketState:
        return lmsr.MarketState(LIQUIDITY, shares)

    def trade_buy(outcome: int, points: int) -> object:
        result = lmsr.buy(fresh(), outcome, points, max_points=100_000)
        return lmsr.prices(result.state)

    # The leader just under the band edge (1000 L): buying it moves the shift, so every weight is
    # recomputed for the new state (rare: once per 1000 L shares of growth of the leader).
    edge = (*shares[:leader], Decimal(1000 * LIQUIDITY - 1), *shares[leader + 1 :])

    def trade_band() -> object:
        result = lmsr.buy(lmsr.MarketState(LIQUIDITY, edge), leader, 100)
        return lmsr.prices(result.state)

    def trade_sell(outcome: int) -> object:
        result = lmsr.sell(fresh(), outcome, held, held=held)
        return lmsr.prices(result.state)

    return [
        ("prices (cold)", lambda: lmsr.prices(fresh())),
        ("prices (warm)", lambda: lmsr.prices(state)),
        ("quote buy 100 (cold)", lambda: lmsr.quote_buy(fresh(), other, 100)),
        ("quote buy 100 (warm)", lambda: lmsr.quote_buy(state, other, 100)),
        ("quote sell 100 sh (cold)", lambda: lmsr.quote_sell(fresh(), other, held, held=held)),
        ("quote sell 100 sh (warm)", lambda: lmsr.quote_sell(state, other, held, held=held)),
        ("trade: buy 100", lambda: trade_buy(other, 100)),
        ("trade: buy 25 of leader", lambda: trade_buy(leader, 25)),
        ("trade: buy 50k", lambda: trade_buy(other, 50_000)),
        ("trade: buy, shift moves", trade_band),
        ("trade: sell 100 sh", lambda: trade_sell(other)),
        ("trade: sell 100 sh leader", lambda: trade_sell(leader)),
        ("position value (cold)", lambda: lmsr.points_for_shares(fresh(), other, held)),
        ("cost (cold)", lambda: lmsr.cost(fresh())),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'operation':<28}{'N':>4}{'ops/s':>10}{'µs/op':>9}{'CPU µs/op':>11}")
    for n in (2, 10):
        for name, call in cases(n):
            wall, cpu = timed(call, args.iterations, args.repeats)
            print(f"{name:<28}{n:>4}{1 / wall:>10,.0f}{wall * 1e6:>9.1f}{cpu * 1e6:>11.1f}")


if __name__ == "__main__":
    main()
