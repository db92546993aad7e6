"""What the repositories share of their unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from app.persistence.writes import Writes


class Session(Protocol):
    now: datetime
    writes: Writes
    wrote_events: bool  # the transaction holds events: its commit should wake the worker

    @property
    def conn(self) -> AsyncConnection: ...

    @property
    def dialect(self) -> str:
        """`postgresql` or `sqlite`."""
