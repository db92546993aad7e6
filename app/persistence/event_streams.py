"""A stream's rows, and the statements the worker's queue reads and moves streams with.

On Postgres a batch's streams are leased, read and moved on together, a few statements whatever their number (each
stream's undelivered events through one LATERAL join, every cursor moved from arrays); SQLite takes them one by
one. With 20 streams a batch, the one-by-one way was 82 statements through SQLAlchemy a batch, and most of what the
in-process worker cost a busy server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.domain.events import AggregateType, StoredEvent
from app.domain.market import as_utc
from models.schema import event_pending, event_streams, events

PER_STREAM = 200  # events of one stream delivered in a batch
Stream = tuple[AggregateType, int]


def stored(row: Mapping[Any, Any]) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        type=row["type"],
        version=int(row["version"]),
        aggregate_type=AggregateType(row["aggregate_type"]),
        aggregate_id=int(row["aggregate_id"]),
        sequence=int(row["sequence"]),
        guild_id=int(row["guild_id"]),
        occurred_at=as_utc(row["occurred_at"]),
        actor_id=int(row["actor_id"]),
        interaction_id=row["interaction_id"],
        payload=row["payload"],
    )


def stream_is(table: sa.Table, stream: Stream) -> Any:
    return sa.and_(table.c.aggregate_type == stream[0].value, table.c.aggregate_id == stream[1])


def same_stream(table: sa.Table, other: sa.Table) -> Any:
    return sa.and_(table.c.aggregate_type == other.c.aggregate_type, table.c.aggregate_id == other.c.aggregate_id)


def streams_in(table: sa.Table, streams: Sequence[tuple[Any, int]]) -> Any:
    """The rows of these streams, from two array parameters (Postgres): one statement, prepared once, for any
    number of streams."""
    kinds = _array("in_t", [t.value if isinstance(t, AggregateType) else t for t, _ in streams])
    pairs = sa.select(sa.func.unnest(kinds), sa.func.unnest(_array("in_i", [i for _, i in streams])))
    return sa.tuple_(table.c.aggregate_type, table.c.aggregate_id).in_(pairs)


def due_again(where: Any, now: datetime) -> Any:
    """More to deliver (written meanwhile, or more than a batch): due now, from a fresh head."""
    return (
        sa.update(event_pending)
        .where(where)
        .values(leased_until=None, next_attempt_at=now, attempts=0, last_error=None)
    )


def _array(name: str, values: list[Any] | None = None) -> Any:
    """An array parameter (Postgres): `…_t` holds the streams' types, any other numbers; its values given now,
    or (None) at execution."""
    from sqlalchemy.dialects.postgresql import ARRAY

    kind: Any = ARRAY(sa.String()) if name.endswith("_t") else ARRAY(sa.BigInteger())
    return sa.bindparam(name, type_=kind) if values is None else sa.bindparam(name, values, type_=kind)


def _arrays(prefix: str, *names: str) -> list[Any]:
    return [_array(f"{prefix}_{name}") for name in names]


@cache
def undelivered() -> sa.Select[Any]:
    """Each leased stream's undelivered events (at most PER_STREAM), by head, then by sequence (Postgres)."""
    heads = (
        sa.func.unnest(*_arrays("heads", "t", "i", "d"))
        .table_valued("t", "i", "d", with_ordinality="n")
        .render_derived(name="heads")
    )
    later = (
        sa.select(events)
        .where(events.c.aggregate_type == heads.c.t, events.c.aggregate_id == heads.c.i, events.c.sequence > heads.c.d)
        .order_by(events.c.sequence)
        .limit(PER_STREAM)
        .lateral("later")
    )
    return sa.select(later).select_from(heads.join(later, sa.true())).order_by(heads.c.n, later.c.sequence)


@cache
def moved_cursors() -> Any:
    """Every stream's cursor moved up to what was delivered, with its latest state (Postgres)."""
    moves = sa.func.unnest(*_arrays("moved", "t", "i", "upto")).table_valued("t", "i", "upto")
    moves = moves.render_derived(name="moves")
    return (
        sa.update(event_streams)
        .where(event_streams.c.aggregate_type == moves.c.t, event_streams.c.aggregate_id == moves.c.i)
        .values(delivered_sequence=sa.func.greatest(event_streams.c.delivered_sequence, moves.c.upto))
        .returning(
            event_streams.c.aggregate_type,
            event_streams.c.aggregate_id,
            event_streams.c.last_sequence,
            event_streams.c.delivered_sequence,
        )
    )
