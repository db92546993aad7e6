"""What Hunch measures, and the one small interface every layer records it through.

The vocabulary (the `Metric`s below) is the contract with the alerts and dashboards: the container exports it
as Prometheus text at `GET /metrics`, Lambda as CloudWatch Embedded Metric Format on stdout. Code records
with `count`, `observe` and `gauge`; spans with `span`. Both do nothing until `app.bootstrap` plugs in an
exporter or a tracer, so this module (the standard library only) can be imported by the use cases, and a
process that exports nothing pays a function call per measurement.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["counter", "histogram", "gauge"]
GaugeMode = Literal["livesum", "livemax", "mostrecent"]
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
SERVICE = (("service",),)


@dataclass(frozen=True)
class Metric:
    """A series family. `emf` lists its CloudWatch dimension sets (empty: not sent to CloudWatch); `gauge_mode`
    says how a gauge's values from several server processes combine (prometheus-client's multiprocess modes)."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    emf: tuple[tuple[str, ...], ...] = SERVICE
    buckets: tuple[float, ...] = ()
    unit: str = "Count"
    gauge_mode: GaugeMode = "livesum"


INTERACTIONS = Metric(
    "hunch_interactions_total",
    "counter",
    "Interactions answered, by type, command and outcome",
    ("type", "command", "outcome"),
    emf=(("service", "outcome"),),
)
INTERACTION_DURATION = Metric(
    "hunch_interaction_duration_seconds",
    "histogram",
    "Server time from the signed body to the response",
    ("type", "command"),
    buckets=DURATION_BUCKETS,
    unit="Seconds",
)
# Interaction types (Discord's numbers) as the `type` label names them.
INTERACTION_TYPES = {1: "ping", 2: "application_command", 3: "message_component", 4: "autocomplete", 5: "modal_submit"}
SIGNATURE_FAILURES = Metric("hunch_signature_failures_total", "counter", "Requests refused with 401")
RATE_LIMIT_REFUSALS = Metric("hunch_rate_limit_refusals_total", "counter", "Rate-limit refusals", ("scope",))
TRANSACTION_DURATION = Metric(
    "hunch_db_transaction_duration_seconds",
    "histogram",
    "One unit of work, begin to commit",
    buckets=DURATION_BUCKETS,
    unit="Seconds",
)
TRANSACTION_RETRIES = Metric("hunch_db_transaction_retries_total", "counter", "Retried transactions", ("reason",))
DB_ERRORS = Metric("hunch_db_errors_total", "counter", "Failed transactions (every process's), by kind", ("kind",))
STATEMENT_DURATION = Metric(
    "hunch_db_statement_duration_seconds",
    "histogram",
    "Every statement's time",
    emf=(),
    buckets=DURATION_BUCKETS,
    unit="Seconds",
)
SLOW_STATEMENTS = Metric("hunch_db_slow_statements_total", "counter", "Statements slower than SLOW_QUERY_SECONDS")
POOL_CONNECTIONS = Metric(
    "hunch_db_pool_connections", "gauge", "The connection pool's connections", ("state",), emf=(), unit="Count"
)
TRADE_BATCH_SIZE = Metric(
    "hunch_trade_batch_size", "histogram", "Orders per group-commit batch", buckets=BATCH_BUCKETS, unit="Count"
)
DISCORD_REQUESTS = Metric("hunch_discord_requests_total", "counter", "Discord REST calls", ("route", "status"))
DISCORD_RATE_LIMITED = Metric("hunch_discord_rate_limited_total", "counter", "429s from Discord", ("scope",))
DISCORD_BREAKER = Metric(
    "hunch_discord_breaker_state",
    "gauge",
    "Discord REST breaker: 0 closed, 1 half-open, 2 open",
    unit="None",
    gauge_mode="livemax",
)
WORKER_DELIVERIES = Metric("hunch_worker_deliveries_total", "counter", "Event deliveries", ("consumer", "outcome"))
EVENTS_DEAD = Metric("hunch_events_dead_total", "counter", "Events set aside as dead")
OUTBOX_LAG = Metric(
    "hunch_outbox_lag_seconds",
    "gauge",
    "Age of the oldest undelivered event (0 when none)",
    unit="Seconds",
    gauge_mode="mostrecent",
)
BETS = Metric("hunch_bets_total", "counter", "Trades placed", ("side",))
POINTS_TRADED = Metric("hunch_points_traded_total", "counter", "Points staked or received by trades")
MARKETS_CREATED = Metric("hunch_markets_created_total", "counter", "Markets created")
MARKETS_RESOLVED = Metric("hunch_markets_resolved_total", "counter", "Resolutions (again after an unresolve)")
MARKETS_CANCELLED = Metric("hunch_markets_cancelled_total", "counter", "Cancellations (again after an unresolve)")
MARKETS_UNRESOLVED = Metric(
    "hunch_markets_unresolved_total", "counter", "Settlements undone, by what was undone", ("undone",)
)
SUBSIDIES = Metric("hunch_subsidies_total", "counter", "Subsidies added to markets")
POINTS_SUBSIDIZED = Metric("hunch_points_subsidized_total", "counter", "Points added to markets by subsidies")
SEASONS_STARTED = Metric("hunch_seasons_started_total", "counter", "Seasons started")
ACTIVE_MEMBERS = Metric(
    "hunch_active_members",
    "gauge",
    "Distinct members who traded in the window",
    ("window",),
    gauge_mode="mostrecent",
)

VOCABULARY: tuple[Metric, ...] = (
    INTERACTIONS,
    INTERACTION_DURATION,
    SIGNATURE_FAILURES,
    RATE_LIMIT_REFUSALS,
    TRANSACTION_DURATION,
    TRANSACTION_RETRIES,
    DB_ERRORS,
    STATEMENT_DURATION,
    SLOW_STATEMENTS,
    POOL_CONNECTIONS,
    TRADE_BATCH_SIZE,
    DISCORD_REQUESTS,
    DISCORD_RATE_LIMITED,
    DISCORD_BREAKER,
    WORKER_DELIVERIES,
    EVENTS_DEAD,
    OUTBOX_LAG,
    BETS,
    POINTS_TRADED,
    MARKETS_CREATED,
    MARKETS_RESOLVED,
    MARKETS_CANCELLED,
    MARKETS_UNRESOLVED,
    SUBSIDIES,
    POINTS_SUBSIDIZED,
    SEASONS_STARTED,
    ACTIVE_MEMBERS,
)


class Recorder(Protocol):
    """An exporter: where measurements go."""

    def record(self, metric: Metric, value: float, labels: Mapping[str, str]) -> None:
        """Add `value` to a counter, observe it on a histogram, or set a gauge to it."""


class Tracer(Protocol):
    def span(self, name: str, attributes: Mapping[str, str | int | float | bool]) -> AbstractContextManager[None]: ...

    def trace_id(self) -> str | None:
        """The current trace's id (32 hex digits), if a span is recording."""


class _Nowhere:
    _nothing = contextlib.nullcontext()

    def record(self, metric: Metric, value: float, labels: Mapping[str, str]) -> None:
        return None

    def span(self, name: str, attributes: Mapping[str, str | int | float | bool]) -> AbstractContextManager[None]:
        return self._nothing

    def trace_id(self) -> str | None:
        return None


_NOWHERE = _Nowhere()
_recorder: Recorder = _NOWHERE
_tracer: Tracer = _NOWHERE

started_at: ContextVar[float | None] = ContextVar("started_at", default=None)
"""When the endpoint had the current request's signed body (`time.perf_counter()`): the interaction's clock."""


def install(recorder: Recorder | None = None, tracer: Tracer | None = None) -> None:
    """Send measurements to `recorder` and spans to `tracer` (None: nowhere)."""
    global _recorder, _tracer
    _recorder = recorder or _NOWHERE
    _tracer = tracer or _NOWHERE


def current_recorder() -> Recorder:
    return _recorder


def current_tracer() -> Tracer:
    return _tracer


def count(metric: Metric, value: float = 1.0, **labels: str) -> None:
    _recorder.record(metric, value, labels)


def observe(metric: Metric, value: float, **labels: str) -> None:
    _recorder.record(metric, value, labels)


def gauge(metric: Metric, value: float, **labels: str) -> None:
    _recorder.record(metric, value, labels)


def span(name: str, **attributes: str | int | float | bool) -> AbstractContextManager[None]:
    """A span around a block when tracing is on; nothing otherwise."""
    return _tracer.span(name, attributes)


def trace_id() -> str | None:
    return _tracer.trace_id()
