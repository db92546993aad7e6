"""Wires the application's dependencies by hand: settings, database, rate limiter, router, trading desk, clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.discord.router import Router
from app.persistence.database import Database
from app.persistence.unit_of_work import utcnow
from app.ratelimit import RateLimiter, build_rate_limiter
from app.services.trading_desk import TradingDesk
from app.settings import Settings, get_settings


@dataclass
class Hunch:
    settings: Settings
    database: Database
    rate_limiter: RateLimiter
    router: Router
    trading_desk: TradingDesk
    clock: Callable[[], datetime] = field(default=utcnow)


def bootstrap(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    rate_limiter: RateLimiter | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Hunch:
    from handlers import build_router

    settings = settings or get_settings()
    database = database or Database(settings)
    if rate_limiter is None:
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        db = database
        rate_limiter = build_rate_limiter(redis_url, (lambda: db.engine) if db.is_postgres else None)
    return Hunch(
        settings=settings,
        database=database,
        rate_limiter=rate_limiter,
        router=build_router(),
        trading_desk=TradingDesk(database, clock),
        clock=clock,
    )
