"""The tables as the running service queries them: SQLAlchemy Core `Table`s, without building the SQLModel
classes that declare them (`models.tables`) when a snapshot of them is at hand.

Building the classes is the largest import of Hunch's own code on a cold start: importing `models.tables` took
230-250 ms in a fresh python3.12 on the 2-core development machine, and a Lambda instance pays it on its first
request. The Lambda build writes the declared `MetaData`, pickled (SQLAlchemy's supported way to cache a schema),
next to this module as `schema.pickle`; loading it takes 3-4 ms. Where there is none (a checkout, a container, the
tests) or it does not load (written by another SQLAlchemy, damaged), the tables come from `models.tables`, as
before: the snapshot only ever saves time.
"""

from __future__ import annotations

import io
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

SNAPSHOT = Path(__file__).with_name("schema.pickle")


def snapshot_bytes() -> bytes:
    """The declared schema as the build writes it: SQLAlchemy's version on the first line, then the pickle.

    The tables are copied first (`to_metadata`): pickled as mapped, a declared column came back unable to take
    part in an expression (`accounts.c.balance - 1` raised). What a pickle would order by memory address (sets,
    the copy's creation counters, its foreign-key memo) is put in one order; with `PYTHONHASHSEED` fixed and
    address randomisation off, as the build runs it, one machine writes the same bytes every time."""
    from models.tables import metadata as declared

    copied = sa.MetaData()
    for table in declared.sorted_tables:
        table.to_metadata(copied)
    created = 0
    for name in sorted(copied.tables):
        table = copied.tables[name]
        for part in (*table.columns, *sorted(table.constraints, key=_order), *sorted(table.indexes, key=_order)):
            created += 1
            part._creation_order = created
    memos = sorted(copied._fk_memos.items(), key=lambda memo: repr(memo[0]))
    copied._fk_memos = defaultdict(list, {key: sorted(fks, key=_order) for key, fks in memos})
    out = io.BytesIO()
    _InOrder(out, protocol=5).dump(copied)
    return sa.__version__.encode() + b"\n" + out.getvalue()


def _order(item: Any) -> tuple[str, ...]:
    if isinstance(item, str | int | float | bytes):
        return ("", repr(item))
    parent = getattr(item, "parent", None)
    owner = getattr(getattr(item, "table", None), "name", None) or getattr(getattr(parent, "table", None), "name", "")
    columns = getattr(item, "columns", None)
    names = ",".join(sorted(str(getattr(c, "key", c)) for c in columns)) if columns is not None else ""
    return (type(item).__name__, str(owner), str(getattr(parent, "name", "")), str(getattr(item, "name", "")), names)


class _InOrder(pickle._Pickler):
    """The pure-Python pickler (the C one writes sets as it iterates them), writing every set's items sorted."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in (set, frozenset):
            return type(obj), (sorted(obj, key=_order),)
        return NotImplemented


def load(path: Path = SNAPSHOT) -> sa.MetaData:
    """The schema from the snapshot at `path` when it loads, else as `models.tables` declares it."""
    try:
        version, _, pickled = path.read_bytes().partition(b"\n")
        if version == sa.__version__.encode():
            found = pickle.loads(pickled)  # written by the build of this very package
            if isinstance(found, sa.MetaData):
                return found
    except Exception:  # no snapshot (the usual case outside Lambda), or one this SQLAlchemy cannot read
        pass
    from models.tables import metadata as declared

    return declared


metadata = load()
_tables = metadata.tables
accounts = _tables["accounts"]
audit_events = _tables["audit_events"]
event_dead = _tables["event_dead"]
event_pending = _tables["event_pending"]
event_streams = _tables["event_streams"]
events = _tables["events"]
followups = _tables["followups"]
guilds = _tables["guilds"]
interaction_records = _tables["interaction_records"]
market_messages = _tables["market_messages"]
market_results = _tables["market_results"]
markets = _tables["markets"]
member_records = _tables["member_records"]
positions = _tables["positions"]
price_points = _tables["price_points"]
rate_limit_hits = _tables["rate_limit_hits"]
rate_limit_keys = _tables["rate_limit_keys"]
season_standings = _tables["season_standings"]
seasons = _tables["seasons"]
trades = _tables["trades"]
transfers = _tables["transfers"]
