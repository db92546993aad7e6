"""Wake-ups for the worker: Postgres notifies `hunch_events` when a transaction that wrote events commits
(see `outbox.py`); `listen` turns each notification into `wake.set()`. SQLite has no notifications: the worker
polls."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.persistence.database import Database
from app.persistence.outbox import CHANNEL

logger = logging.getLogger("hunch.worker")
RECONNECT_SECONDS = 5.0


async def listen(database: Database, wake: asyncio.Event, stop: asyncio.Event) -> None:
    """Until `stop`, on a connection of its own: reconnects after an error, and wakes the worker each time it
    (re)connects, to catch up on what was committed while it was not listening."""
    if not database.is_postgres:
        await stop.wait()
        return
    while not stop.is_set():
        try:
            async with database.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None

                def notified(*_: object) -> None:
                    wake.set()

                await driver.add_listener(CHANNEL, notified)
                wake.set()
                while not stop.is_set() and not driver.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=RECONNECT_SECONDS)
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, notified)
        except Exception:
            logger.warning("listening for events failed; polling until it reconnects", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RECONNECT_SECONDS)
