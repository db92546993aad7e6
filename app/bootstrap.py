"""Wires Hunch's dependencies by hand: the only module that sees every layer.

`bootstrap()` builds the database, the rate limiter, the use cases and the Discord router into one `Hunch`;
the worker and its Discord client are built the first time they are needed. `web_app()` puts the HTTP
endpoint in front of it (and, in a container, runs a worker beside it). Heavy modules (the ORM, the driver)
are imported when `bootstrap()` runs, not when this module is imported, so a cold start that only answers
PINGs never loads them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app import endpoint, telemetry
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from app.discord.api import DiscordApi
    from app.discord.dispatch import Dispatcher
    from app.discord.router import Router
    from app.health import Check
    from app.observability.emf import EmfRecorder
    from app.observability.prometheus import PrometheusRecorder
    from app.observability.tracing import OtelTracer
    from app.persistence.database import Database
    from app.persistence.unit_of_work import Transactions
    from app.ratelimit import RateLimiter
    from app.scheduler import Housekeeping
    from app.services.trading_desk import TradingDesk
    from app.services.use_cases import UseCases
    from app.worker import Worker
    from models.discord.interactions import Interaction
    from models.discord.messages import InteractionResponse


@dataclass
class Hunch:
    settings: Settings
    database: Database
    transactions: Transactions
    rate_limiter: RateLimiter
    use_cases: UseCases
    trading_desk: TradingDesk
    router: Router
    dispatcher: Dispatcher
    clock: Callable[[], datetime]
    discord_api: DiscordApi | None = None  # for tests: a client on a mocked transport
    nudge: Callable[[], Awaitable[None]] | None = None  # tells a worker elsewhere (SQS) that events wait
    _worker: Worker | None = field(default=None, repr=False)

    async def handle(self, interaction: Interaction) -> InteractionResponse:
        return await self.dispatcher(interaction)

    def discord_api_state(self) -> str:
        return self.discord_api.rest.breaker.state.value if self.discord_api is not None else "unused"

    async def health(self) -> list[Check]:
        from app.readiness import checks

        return await checks(self.database, self.rate_limiter, self.discord_api_state(), self.clock)

    async def sample_gauges(self) -> None:
        from app.persistence.gauges import sample

        await sample(self.database, self.clock)

    @property
    def worker(self) -> Worker:
        if self._worker is None:
            self._worker = build_worker(self)
        return self._worker

    async def events_committed(self) -> None:
        """A transaction committed events: wake the worker in this process, and nudge one elsewhere."""
        if self._worker is not None:
            self._worker.wake.set()
        if self.nudge is not None:
            await self.nudge()

    async def run_worker(self, stop: asyncio.Event) -> None:
        """The worker until `stop`, woken by the database's notifications."""
        from app.persistence.notifications import listen

        worker = self.worker
        await asyncio.gather(listen(self.database, worker.wake, stop), worker.run_forever(stop))

    async def aclose(self) -> None:
        close = getattr(self.rate_limiter, "aclose", None)
        if close is not None:
            await close()
        if self.discord_api is not None:
            await self.discord_api.rest.aclose()
        close_nudge = getattr(self.nudge, "aclose", None)
        if close_nudge is not None:
            await close_nudge()
        await self.database.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    rate_limiter: RateLimiter | None = None,
    clock: Callable[[], datetime] | None = None,
    discord_api: DiscordApi | None = None,
) -> Hunch:
    from app.discord.dispatch import Dispatcher
    from app.persistence.database import Database
    from app.persistence.unit_of_work import Transactions, utcnow
    from app.ratelimit import Limit, build_rate_limiter
    from app.ratelimit.throttle import RateLimitThrottle, ThrottleLimits
    from app.services.trading_desk import TradingDesk
    from app.services.use_cases import UseCases
    from handlers import build_router

    settings = settings or get_settings()
    clock = clock or utcnow
    instrument_clients = getattr(telemetry.current_tracer(), "instrument_clients", None)
    if instrument_clients is not None:  # tracing is on: now that the clients are imported anyway
        instrument_clients()
    database = database or Database(settings)
    if rate_limiter is None:
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        db = database
        rate_limiter = build_rate_limiter(redis_url, (lambda: db.engine) if db.is_postgres else None)
    limits = ThrottleLimits(
        trade_per_member=Limit(settings.trade_rate_limit, settings.trade_rate_window_seconds),
        trade_per_guild=Limit(settings.guild_trade_rate_limit, settings.guild_trade_rate_window_seconds),
        create_per_member=Limit(settings.market_create_rate_limit, settings.market_create_rate_window_seconds),
    )
    transactions = Transactions(database, clock)
    desk = TradingDesk(transactions)
    use_cases = UseCases(
        transactions, desk, RateLimitThrottle(rate_limiter, limits), defer_from=settings.deferred_settlement_holders
    )
    router = build_router()
    hunch = Hunch(
        settings=settings,
        database=database,
        transactions=transactions,
        rate_limiter=rate_limiter,
        use_cases=use_cases,
        trading_desk=desk,
        router=router,
        dispatcher=Dispatcher(router, use_cases),
        clock=clock,
        discord_api=discord_api,
        nudge=sqs_nudge(settings.worker_queue_url) if settings.worker_queue_url else None,
    )
    transactions.after_events = hunch.events_committed
    return hunch


def sqs_nudge(queue_url: str) -> Callable[[], Awaitable[None]]:
    from app.aws.sqs import SqsNudge

    return SqsNudge(queue_url)


def discord_api(settings: Settings) -> DiscordApi:
    from app.discord.api import DiscordApi
    from app.discord.rest import DiscordRest

    token = settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else None
    return DiscordApi(DiscordRest(token or None, base_url=settings.discord_api_base_url))


def build_worker(hunch: Hunch) -> Worker:
    from app.services.consumers.deferred import DeferredSettlements
    from app.services.consumers.live_messages import LiveMessages
    from app.services.consumers.notifications import Notifications
    from app.services.consumers.price_history import PriceHistory
    from app.services.consumers.seasons import DeferredSeasonStarts
    from app.services.consumers.settings_cache import ForgetChangedSettings
    from app.services.delivery import Consumer
    from app.worker import Worker, WorkerSettings
    from handlers.outgoing import DiscordBoard

    if hunch.discord_api is None:
        hunch.discord_api = discord_api(hunch.settings)
    board = DiscordBoard(hunch.discord_api, hunch.clock)
    transactions = hunch.transactions
    interval = timedelta(seconds=hunch.settings.live_update_interval_seconds)
    live = LiveMessages(transactions, board, interval, hunch.clock)
    consumers: list[Consumer] = [
        live,
        Notifications(transactions, board, hunch.clock),
        DeferredSettlements(transactions, hunch.use_cases, board, hunch.clock),
        PriceHistory(transactions),
        DeferredSeasonStarts(transactions, hunch.use_cases, board, hunch.clock),
        ForgetChangedSettings(hunch.database.guild_settings.forget),
    ]
    settings = WorkerSettings(
        max_attempts=hunch.settings.worker_max_attempts, poll_seconds=hunch.settings.worker_poll_seconds
    )
    return Worker(transactions, consumers, hunch.clock, settings, tickers=[live])


def prometheus_metrics(*, registry: Any = None) -> PrometheusRecorder:
    """Record into prometheus-client (the container): the exporter `GET /metrics` renders."""
    from app.observability.prometheus import PrometheusRecorder

    recorder = PrometheusRecorder(registry)
    telemetry.install(recorder, telemetry.current_tracer())
    return recorder


def emf_metrics() -> EmfRecorder:
    """Record as CloudWatch Embedded Metric Format (Lambda): lines written at each `flush`."""
    from app.observability.emf import EmfRecorder

    recorder = EmfRecorder()
    telemetry.install(recorder, telemetry.current_tracer())
    return recorder


def tracing() -> OtelTracer | None:
    """Traces, when the standard `OTEL_*` variables ask for them (nothing of OpenTelemetry is imported
    otherwise); spans from `app.telemetry.span` go to them from then on."""
    from app.observability import wanted

    if not wanted():
        return None
    from app.observability.tracing import start_tracing

    tracer = start_tracing()
    telemetry.install(telemetry.current_recorder(), tracer)
    return tracer


def web_app(
    settings: Settings | None = None,
    hunch: Hunch | None = None,
    *,
    worker: bool = False,
    metrics: endpoint.MetricsExport | None = None,
    tracer: OtelTracer | None = None,
) -> Starlette:
    """The HTTP app: the endpoint in front of `hunch`, or of one bootstrapped on the first request; with
    `worker`, a worker runs beside it for as long as the app does; with `metrics`, `GET /metrics` renders it."""
    settings = settings or get_settings()
    built: list[Hunch] = [hunch] if hunch is not None else []

    def connect() -> Hunch:
        if not built:
            built.append(bootstrap(settings))
        return built[0]

    @contextlib.asynccontextmanager
    async def with_worker(app: Any) -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(connect().run_worker(stop))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=10)

    app = endpoint.build_app(settings, connect, lifespan=with_worker if worker else None, metrics=metrics)
    if tracer is not None:
        tracer.add_to(app)
    return app


def housekeeping(hunch: Hunch) -> Housekeeping:
    from app.scheduler import PURGE_BATCH, Housekeeping

    purge = getattr(hunch.rate_limiter, "purge_expired", None)
    return Housekeeping(
        retention=timedelta(hours=hunch.settings.interaction_retention_hours),
        purge_rate_limits=(lambda: purge(batch=PURGE_BATCH)) if purge is not None else None,
    )


def scheduled_pass(hunch: Hunch) -> Any:
    """One pass of the periodic work (the coroutine)."""
    from app.scheduler import run_once

    return run_once(hunch.use_cases, hunch.clock, housekeeping(hunch))
