"""AWS Lambda entry points.

`handler` serves Discord's interactions through Mangum over the same Starlette app the container runs.
The app, its engine and clients are created at module level (lazily where they cost anything) and reused
across warm invocations. `scheduled` does one pass of the periodic work. `worker` drains the event log: the
interactions function nudges it through SQS after each commit that wrote events, and a schedule sweeps every
minute so a lost nudge delays an event but never loses it. Each invocation's metrics are written to stdout
as CloudWatch Embedded Metric Format when it ends.

The collector is off from the first line until the first invocation ends. A cold start builds well over a hundred
thousand objects the collector tracks (116,630 after a first `/balance`: modules, classes, SQLAlchemy's and
pydantic's machinery) and keeps nearly all of them, so its passes over them found almost nothing to free: with it
off, import plus the first `/balance` of a new member took 372 ms against 419 ms (medians of 5 alternating runs of
the artifact under python3.12). What the cold start built is then frozen out of later passes, and the collector
runs as usual.
"""

from __future__ import annotations

import gc

gc.disable()

import asyncio
import logging
from typing import Any

from mangum import Mangum

from app.bootstrap import emf_metrics, scheduled_pass, tracing
from app.logging import configure_logging
from app.settings import get_settings
from app.web import create_app

_settings = get_settings()
configure_logging(_settings.log_level)
metrics = emf_metrics()
tracer = tracing()
app = create_app(_settings, tracer=tracer)
_serve = Mangum(app, lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = _serve(event, context)
        return result
    finally:
        _flush()


WORKER_MARGIN_SECONDS = 5.0  # stop this long before Lambda's timeout
WORKER_LINGER_SECONDS = 10.0  # stay while a live message is due within this long


def scheduled(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _collect_from_now_on()  # a pass, or a drain, may run for minutes: not without the collector
    hunch = app.state.endpoint.backend
    loop = asyncio.get_event_loop()
    try:
        result: dict[str, Any] = loop.run_until_complete(scheduled_pass(hunch))
        loop.run_until_complete(_sample(hunch))
        return result
    finally:
        _flush()


def _flush() -> None:
    try:
        metrics.flush()
        if tracer is not None:
            tracer.flush()
    finally:
        _collect_from_now_on()


def _collect_from_now_on() -> None:
    """The cold start is over: what it built is here to stay, what comes next is collected as usual."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


async def _sample(hunch: Any) -> None:
    """The gauges read from the database, for CloudWatch (the container's come with each scrape)."""
    try:
        await hunch.sample_gauges()
    except Exception:
        logging.getLogger("hunch.metrics").warning("sampling the gauges failed", exc_info=True)


def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """An SQS batch of nudges, or the scheduled sweep: either way, deliver what is due."""
    from datetime import timedelta

    _collect_from_now_on()
    hunch = app.state.endpoint.backend
    hunch.nudge = None  # what this worker commits (a settlement's events) it goes on to deliver itself
    budget = context.get_remaining_time_in_millis() / 1000 - WORKER_MARGIN_SECONDS if context else 30.0
    deadline = hunch.clock() + timedelta(seconds=max(1.0, budget))
    loop = asyncio.get_event_loop()
    try:
        delivered = loop.run_until_complete(hunch.worker.run_until(deadline, WORKER_LINGER_SECONDS))
        loop.run_until_complete(_sample(hunch))
        return {"delivered": delivered}
    finally:
        _flush()
