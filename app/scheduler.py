"""Periodic work: close the markets whose close time has passed, note those about to close, refund the closed
markets nobody resolved in time (reminding their creators a day before), keep storage bounded.

Interaction records (which only answer a redelivered interaction) are forgotten after the retention, expired
interaction tokens at once, and rate-limit rows once they have left their window. All go in small batches,
each its own short transaction, so a purge never holds a hot table for long; a pass stops after
`MAX_PURGE_BATCHES` and the next pass carries on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.logging import log_fields
from app.services.use_cases import UseCases

logger = logging.getLogger("hunch.scheduler")

PURGE_BATCH = 1000
MAX_PURGE_BATCHES = 50


@dataclass(frozen=True)
class Housekeeping:
    retention: timedelta  # how long interaction records are kept
    purge_rate_limits: Callable[[], Awaitable[int]] | None = None  # one batch of expired rate-limit rows


async def run_once(use_cases: UseCases, clock: Callable[[], datetime], housekeeping: Housekeeping) -> dict[str, Any]:
    now = clock()
    closed = await use_cases.close_expired_markets(now)
    result: dict[str, Any] = {
        "closed": [{"guild_id": str(g), "number": n} for g, n in closed],
        "closings_announced": await use_cases.announce_closing(now),
        "refunded": [{"guild_id": str(g), "number": n} for g, n in await use_cases.refund_stale_markets(now)],
        "refunds_reminded": await use_cases.remind_refunds(now),
        "records_purged": await _in_batches(
            lambda: use_cases.forget_interactions(now - housekeeping.retention, PURGE_BATCH)
        ),
        "tokens_purged": await _in_batches(lambda: use_cases.forget_followups(now, PURGE_BATCH)),
        "rate_limit_rows_purged": (
            await _in_batches(housekeeping.purge_rate_limits) if housekeeping.purge_rate_limits else 0
        ),
    }
    counts = {k: len(v) if isinstance(v, list) else v for k, v in result.items()}
    log_fields(logger, logging.INFO, "scheduled pass", **counts)
    return result


async def _in_batches(purge: Callable[[], Awaitable[int]]) -> int:
    total = 0
    for _ in range(MAX_PURGE_BATCHES):
        purged = await purge()
        total += purged
        if purged < PURGE_BATCH:
            break
    return total


async def run_forever(
    use_cases: UseCases, clock: Callable[[], datetime], housekeeping: Housekeeping, interval: float
) -> None:
    while True:
        try:
            await run_once(use_cases, clock, housekeeping)
        except Exception:
            logger.exception("scheduled pass failed")
        await asyncio.sleep(interval)
