"""What the repositories share of their unit of work."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from app.persistence.engine import Connection
from app.persistence.writes import Writes


class Session(Protocol):
    now: datetime
    writes: Writes
    wrote_events: bool  # the transaction holds events: its commit should wake the worker

    @property
    def conn(self) -> Connection: ...

    @property
    def dialect(self) -> str:
        """`postgresql` or `sqlite`."""
