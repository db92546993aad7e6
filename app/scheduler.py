"""Periodic work: close the markets whose close time has passed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.logging import log_fields
from app.services.use_cases import UseCases

logger = logging.getLogger("hunch.scheduler")


async def run_once(use_cases: UseCases, clock: Callable[[], datetime]) -> dict[str, Any]:
    closed = await use_cases.close_expired_markets(clock())
    log_fields(logger, logging.INFO, "scheduled pass", closed=len(closed))
    return {"closed": [{"guild_id": str(g), "number": n} for g, n in closed]}


async def run_forever(use_cases: UseCases, clock: Callable[[], datetime], interval: float) -> None:
    while True:
        try:
            await run_once(use_cases, clock)
        except Exception:
            logger.exception("scheduled pass failed")
        await asyncio.sleep(interval)
