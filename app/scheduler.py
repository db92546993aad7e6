"""Periodic work: close markets whose close time has passed, purge expired rate-limit rows."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.bootstrap import Hunch
from app.logging import log_fields
from app.persistence.unit_of_work import run_transaction
from app.services.markets import close_expired_markets

logger = logging.getLogger("hunch.scheduler")


async def run_once(hunch: Hunch) -> dict[str, Any]:
    now = hunch.clock()
    closed = await run_transaction(hunch.database, lambda uow: close_expired_markets(uow, now), clock=hunch.clock)
    log_fields(logger, logging.INFO, "scheduled pass", closed=len(closed))
    return {"closed": [{"guild_id": str(g), "number": n} for g, n in closed]}


async def run_forever(hunch: Hunch, interval: float) -> None:
    while True:
        try:
            await run_once(hunch)
        except Exception:
            logger.exception("scheduled pass failed")
        await asyncio.sleep(interval)
