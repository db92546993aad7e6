"""The event log's write side: events staged with a unit of work's changes and written with them.

However many events a unit of work stages (a batch of 64 trades stages 64), they go as one statement on
Postgres: it takes the next numbers of each aggregate's stream (`event_streams`, locked in one order) and
inserts the events, numbered, then notifies the worker (`LISTEN hunch_events`) when the transaction commits.
SQLite, which runs one writer at a time, numbers them with three executemanys. Each stream written to is marked
as waiting for the worker (`event_pending`), unless it already was.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app import telemetry
from app.domain.actor import Actor
from app.domain.events import (
    DomainEvent,
    MarketCancelled,
    MarketCreated,
    MarketResolved,
    MarketSubsidized,
    MarketUnresolved,
    SeasonStarted,
    TradeExecuted,
)
from app.persistence.session import Session
from app.persistence.writes import Write
from models.schema import event_pending, event_streams, events

CHANNEL = "hunch_events"
_p = sa.bindparam


def new_event_id(now: datetime) -> str:
    """A UUID whose first 48 bits are the time in milliseconds (as UUIDv7 lays it out): ids sort by time,
    which keeps the log's primary key index append-mostly."""
    millis = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


@dataclass(frozen=True, slots=True)
class _Staged:
    id: str
    actor: Actor
    event: DomainEvent


class SqlEventLog:
    """`app.services.ports.EventLog` on the unit of work's staged writes."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._staged: list[_Staged] = []
        self._written: list[DomainEvent] = []  # sent with the transaction's writes, not yet committed

    def record(self, actor: Actor, event: DomainEvent) -> None:
        if not self._staged:
            self._session.writes.later(self._render)
        self._staged.append(_Staged(new_event_id(self._session.now), actor, event))

    def _render(self) -> list[Write]:
        staged, self._staged = self._staged, []
        if not staged:
            return []
        self._written.extend(item.event for item in staged)
        self._session.wrote_events = True
        ordinals: list[int] = []
        counts: dict[tuple[str, int], int] = {}
        for item in staged:
            key = (item.event.AGGREGATE.value, item.event.aggregate_id)
            counts[key] = counts.get(key, 0) + 1
            ordinals.append(counts[key])
        now = self._session.now
        if self._session.dialect == "postgresql":
            params = {
                "ev_id": [i.id for i in staged],
                "ev_guild": [i.actor.guild_id for i in staged],
                "ev_type": [i.event.TYPE for i in staged],
                "ev_version": [i.event.VERSION for i in staged],
                "ev_agg_type": [i.event.AGGREGATE.value for i in staged],
                "ev_agg_id": [i.event.aggregate_id for i in staged],
                "ev_ordinal": ordinals,
                "ev_actor": [i.actor.user_id for i in staged],
                "ev_interaction": [i.actor.interaction_id for i in staged],
                "ev_payload": [json.dumps(i.event.payload()) for i in staged],
                "ev_now": now,
            }
            return [Write(_numbered_insert(), params)]
        bumps = [{"st_type": t, "st_id": i, "st_n": n, "st_now": now} for (t, i), n in sorted(counts.items())]
        rows = [
            {
                "ev_id": item.id,
                "ev_guild": item.actor.guild_id,
                "ev_type": item.event.TYPE,
                "ev_version": item.event.VERSION,
                "ev_agg_type": item.event.AGGREGATE.value,
                "ev_agg_id": item.event.aggregate_id,
                "ev_back": counts[(item.event.AGGREGATE.value, item.event.aggregate_id)] - ordinal,
                "ev_actor": item.actor.user_id,
                "ev_interaction": item.actor.interaction_id,
                "ev_payload": item.event.payload(),
                "ev_now": now,
            }
            for item, ordinal in zip(staged, ordinals, strict=True)
        ]
        bump, insert, waiting = _row_statements()
        return [Write(bump, bumps, many=True), Write(insert, rows, many=True), Write(waiting, bumps, many=True)]

    def committed(self) -> None:
        """The transaction committed: count what its events say happened (the business metrics). Settlements
        are counted as they happen, so a market resolved, unresolved and resolved again counts two resolutions
        and one unresolve (`undone="resolved"`): resolved minus unresolved{undone="resolved"} is what stays."""
        written, self._written = self._written, []
        for event in written:
            if isinstance(event, TradeExecuted):
                telemetry.count(telemetry.BETS, side=event.side)
                telemetry.count(telemetry.POINTS_TRADED, event.points)
            elif isinstance(event, MarketCreated):
                telemetry.count(telemetry.MARKETS_CREATED)
            elif isinstance(event, MarketResolved):
                telemetry.count(telemetry.MARKETS_RESOLVED)
            elif isinstance(event, MarketCancelled):
                telemetry.count(telemetry.MARKETS_CANCELLED)
            elif isinstance(event, MarketUnresolved):
                telemetry.count(telemetry.MARKETS_UNRESOLVED, undone=_undone(event.undone))
            elif isinstance(event, MarketSubsidized):
                telemetry.count(telemetry.SUBSIDIES)
                telemetry.count(telemetry.POINTS_SUBSIDIZED, event.amount)
            elif isinstance(event, SeasonStarted):
                telemetry.count(telemetry.SEASONS_STARTED)


def _undone(resolution: dict[str, Any]) -> str:
    """What an unresolve undid, as the label names it: `cancelled` or `resolved` (a weighted one too)."""
    return "cancelled" if "cancelled" in resolution else "resolved"


_COLUMNS = (
    "id",
    "guild_id",
    "type",
    "version",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "occurred_at",
    "actor_id",
    "interaction_id",
    "payload",
)


@cache
def _numbered_insert() -> Any:
    from sqlalchemy.dialects import postgresql

    def each(name: str, type_: sa.types.TypeEngine[Any]) -> Any:
        return sa.func.unnest(_p(name, type_=postgresql.ARRAY(type_)))

    big, text = sa.BigInteger(), sa.String()
    now = _p("ev_now", type_=sa.DateTime(timezone=True))
    incoming = sa.select(
        each("ev_id", text).label("id"),
        each("ev_guild", big).label("guild_id"),
        each("ev_type", text).label("type"),
        each("ev_version", sa.SmallInteger()).label("version"),
        each("ev_agg_type", text).label("aggregate_type"),
        each("ev_agg_id", big).label("aggregate_id"),
        each("ev_ordinal", sa.Integer()).label("ordinal"),
        each("ev_actor", big).label("actor_id"),
        each("ev_interaction", big).label("interaction_id"),
        each("ev_payload", sa.Text()).label("payload"),
    ).cte("event_incoming")
    counts = (
        sa.select(incoming.c.aggregate_type, incoming.c.aggregate_id, sa.func.count().label("n"))
        .group_by(incoming.c.aggregate_type, incoming.c.aggregate_id)
        .cte("event_counts")
    )
    upsert = postgresql.insert(event_streams)
    bumped = (
        upsert.from_select(
            ["aggregate_type", "aggregate_id", "last_sequence"],
            # Stream rows are locked in one order, so two transactions bumping the same two cannot deadlock.
            sa.select(counts.c.aggregate_type, counts.c.aggregate_id, counts.c.n).order_by(
                counts.c.aggregate_type, counts.c.aggregate_id
            ),
        )
        .on_conflict_do_update(
            index_elements=[event_streams.c.aggregate_type, event_streams.c.aggregate_id],
            set_={"last_sequence": event_streams.c.last_sequence + upsert.excluded.last_sequence},
        )
        .returning(event_streams.c.aggregate_type, event_streams.c.aggregate_id, event_streams.c.last_sequence)
        .cte("event_bumped")
    )
    same = sa.and_(
        incoming.c.aggregate_type == bumped.c.aggregate_type, incoming.c.aggregate_id == bumped.c.aggregate_id
    )
    numbered = sa.select(
        incoming.c.id,
        incoming.c.guild_id,
        incoming.c.type,
        incoming.c.version,
        incoming.c.aggregate_type,
        incoming.c.aggregate_id,
        bumped.c.last_sequence - counts.c.n + incoming.c.ordinal,
        now,
        incoming.c.actor_id,
        incoming.c.interaction_id,
        sa.cast(incoming.c.payload, sa.JSON),
    ).select_from(
        incoming.join(bumped, same).join(
            counts,
            sa.and_(
                counts.c.aggregate_type == incoming.c.aggregate_type, counts.c.aggregate_id == incoming.c.aggregate_id
            ),
        )
    )
    # The stream waits for the worker (if it was not already waiting: then this writes nothing). Read from the
    # bumped streams, so it runs after the stream rows are locked: a worker marking a stream done holds that
    # lock too, and either sees these events or finds the stream waiting again.
    waiting = (
        postgresql.insert(event_pending)
        .from_select(
            ["aggregate_type", "aggregate_id", "next_attempt_at", "attempts"],
            sa.select(bumped.c.aggregate_type, bumped.c.aggregate_id, now, sa.literal(0)),
        )
        .on_conflict_do_nothing(index_elements=[event_pending.c.aggregate_type, event_pending.c.aggregate_id])
        .returning(sa.literal(1))
        .cte("event_waiting")
    )
    # The notification is sent when the transaction commits, and never when it rolls back.
    return (
        postgresql.insert(events)
        .from_select(list(_COLUMNS), numbered)
        .returning(sa.func.pg_notify(CHANNEL, ""))
        .add_cte(waiting)
    )


@cache
def _row_statements() -> tuple[Any, Any, Any]:
    from sqlalchemy.dialects import sqlite

    upsert = sqlite.insert(event_streams).values(
        aggregate_type=_p("st_type"), aggregate_id=_p("st_id"), last_sequence=_p("st_n")
    )
    bump = upsert.on_conflict_do_update(
        index_elements=[event_streams.c.aggregate_type, event_streams.c.aggregate_id],
        set_={"last_sequence": event_streams.c.last_sequence + upsert.excluded.last_sequence},
    )
    last = (
        sa.select(event_streams.c.last_sequence)
        .where(event_streams.c.aggregate_type == _p("ev_agg_type"), event_streams.c.aggregate_id == _p("ev_agg_id"))
        .scalar_subquery()
    )
    insert = sa.insert(events).values(
        id=_p("ev_id"),
        guild_id=_p("ev_guild"),
        type=_p("ev_type"),
        version=_p("ev_version"),
        aggregate_type=_p("ev_agg_type"),
        aggregate_id=_p("ev_agg_id"),
        sequence=last - _p("ev_back"),
        occurred_at=_p("ev_now"),
        actor_id=_p("ev_actor"),
        interaction_id=_p("ev_interaction"),
        payload=_p("ev_payload", type_=events.c.payload.type),
    )
    waiting = (
        sqlite.insert(event_pending)
        .values(aggregate_type=_p("st_type"), aggregate_id=_p("st_id"), next_attempt_at=_p("st_now"), attempts=0)
        .on_conflict_do_nothing(index_elements=[event_pending.c.aggregate_type, event_pending.c.aggregate_id])
    )
    return bump, insert, waiting
