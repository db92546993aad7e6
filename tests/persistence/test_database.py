"""The process's engine on the real Postgres: a busy process keeps the connections it opens."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import event, text

from app.persistence.database import make_engine
from tests.conftest import make_settings

PG_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set (needs a real Postgres)")


async def test_a_busy_process_opens_each_connection_once_and_never_more_than_twice_the_pool_size() -> None:
    assert PG_URL is not None
    settings = make_settings(PG_URL, "00" * 32, DATABASE_POOL_SIZE="3")
    engine = make_engine(settings)
    opened: list[int] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    in_use = 0
    most = 0

    async def transaction() -> None:
        nonlocal in_use, most
        async with engine.connect() as conn:
            in_use += 1
            most = max(most, in_use)
            await conn.execute(text("SELECT pg_sleep(0.02)"))
            in_use -= 1

    try:
        for _ in range(5):  # waves of more work than the pool holds, as a process busy on many markets sees
            await asyncio.gather(*(transaction() for _ in range(10)))
    finally:
        await engine.dispose()
    assert most == 6  # DATABASE_POOL_SIZE and as many again under load...
    assert len(opened) == 6  # ...each opened once and kept, not closed and reopened wave after wave
