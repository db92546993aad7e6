"""Wires Hunch's dependencies by hand: the only module that sees every layer.

`bootstrap()` builds the database, the rate limiter, the use cases and the Discord router into one `Hunch`;
`web_app()` puts the HTTP endpoint in front of it. Heavy modules (the ORM, the driver) are imported when
`bootstrap()` runs, not when this module is imported, so a cold start that only answers PINGs never loads
them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app import endpoint
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from app.discord.dispatch import Dispatcher
    from app.discord.router import Router
    from app.persistence.database import Database
    from app.ratelimit import RateLimiter
    from app.scheduler import Housekeeping
    from app.services.trading_desk import TradingDesk
    from app.services.use_cases import UseCases
    from models.discord.interactions import Interaction
    from models.discord.messages import InteractionResponse


@dataclass
class Hunch:
    settings: Settings
    database: Database
    rate_limiter: RateLimiter
    use_cases: UseCases
    trading_desk: TradingDesk
    router: Router
    dispatcher: Dispatcher
    clock: Callable[[], datetime]

    async def handle(self, interaction: Interaction) -> InteractionResponse:
        return await self.dispatcher(interaction)

    async def ping_database(self) -> None:
        await self.database.ping()

    async def aclose(self) -> None:
        close = getattr(self.rate_limiter, "aclose", None)
        if close is not None:
            await close()
        await self.database.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    rate_limiter: RateLimiter | None = None,
    clock: Callable[[], datetime] | None = None,
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
    use_cases = UseCases(transactions, desk, RateLimitThrottle(rate_limiter, limits))
    router = build_router()
    return Hunch(
        settings=settings,
        database=database,
        rate_limiter=rate_limiter,
        use_cases=use_cases,
        trading_desk=desk,
        router=router,
        dispatcher=Dispatcher(router, use_cases),
        clock=clock,
    )


def web_app(settings: Settings | None = None, hunch: Hunch | None = None) -> Starlette:
    """The HTTP app: the endpoint in front of `hunch`, or of one bootstrapped on the first request."""
    settings = settings or get_settings()
    return endpoint.build_app(settings, lambda: hunch or bootstrap(settings))


def housekeeping(hunch: Hunch) -> Housekeeping:
    from datetime import timedelta

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
