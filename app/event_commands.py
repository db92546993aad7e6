"""`python -m app events list|dead|retry|replay`: what an operator runs to see the worker's lag, inspect dead
events, re-drive them once their cause is fixed, and rebuild projections from the log."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from app.bootstrap import Hunch, bootstrap
from app.domain.events import AggregateType
from app.services import event_log
from app.services.delivery import Backlog, QueuedEvent
from app.settings import Settings

ERROR_WIDTH = 120


async def run_events_command(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    hunch = bootstrap(settings)
    try:
        return await events_command(hunch, args, out)
    finally:
        await hunch.aclose()


async def events_command(hunch: Hunch, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    run = hunch.transactions.run
    action = args.events_command
    if action in ("list", "dead"):
        if args.limit < 1:
            print("--limit must be at least 1", file=sys.stderr)
            return 2
        backlog = await run(event_log.backlog)
        found = await run(lambda uow: event_log.recent(uow, args.limit, dead_only=action == "dead"))
        _print_events(backlog, found, hunch.clock(), out, as_json=args.json)
        return 0
    if action == "retry":
        if bool(args.event_ids) == bool(args.all):
            print("name the dead events to retry, or give --all", file=sys.stderr)
            return 2
        ids = None if args.all else list(args.event_ids)
        count = await run(lambda uow: event_log.retry_dead(uow, ids, hunch.clock()))
        print(f"{count} dead event(s) put back in line", file=out)
        if ids is not None and count < len(ids):
            print(f"{len(ids) - count} of the events named are not dead (or do not exist)", file=out)
        return 0
    if action == "replay":
        try:
            consumers = event_log.replayable(hunch.worker.consumers, args.consumer)
        except event_log.NotReplayable as refused:
            print(refused, file=sys.stderr)
            return 2
        aggregate = (AggregateType.MARKET, args.market) if args.market is not None else None
        count = await event_log.replay(hunch.transactions, consumers, aggregate)
        names = ", ".join(c.name for c in consumers) or "no consumer"
        print(f"replayed {count} event(s) through {names}", file=out)
        return 0
    return 2


def _print_events(backlog: Backlog, found: list[QueuedEvent], now: datetime, out: TextIO, *, as_json: bool) -> None:
    lag = (now - backlog.oldest_pending_at).total_seconds() if backlog.oldest_pending_at is not None else 0.0
    if as_json:
        print(json.dumps({"pending": backlog.pending, "dead": backlog.dead, "lag_seconds": round(lag, 3)}), file=out)
        for queued in found:
            print(json.dumps(_as_json(queued)), file=out)
        return
    print(f"pending {backlog.pending}, dead {backlog.dead}, lag {lag:.1f}s", file=out)
    for queued in found:
        event = queued.event
        line = (
            f"{event.id}  {event.occurred_at.isoformat(timespec='seconds')}  {event.type:<18} "
            f"{event.aggregate_type.value}:{event.aggregate_id}#{event.sequence}  {queued.status.value}"
        )
        if queued.attempts:
            line += f" after {queued.attempts} attempt(s)"
        if queued.last_error:
            line += f"  {queued.last_error[:ERROR_WIDTH]}"
        print(line, file=out)


def _as_json(queued: QueuedEvent) -> dict[str, Any]:
    event = queued.event
    return {
        "id": event.id,
        "type": event.type,
        "version": event.version,
        "aggregate": f"{event.aggregate_type.value}:{event.aggregate_id}",
        "sequence": event.sequence,
        "guild_id": str(event.guild_id),
        "occurred_at": event.occurred_at.isoformat(),
        "status": queued.status.value,
        "attempts": queued.attempts,
        "next_attempt_at": queued.next_attempt_at.isoformat() if queued.next_attempt_at else None,
        "last_error": queued.last_error,
        "payload": dict(event.payload),
    }
