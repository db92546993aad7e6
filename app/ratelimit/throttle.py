"""The use cases' throttle on a rate limiter: sliding-window limits per member and per server."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import telemetry
from app.domain.actor import Actor
from app.domain.errors import RateLimited
from app.ratelimit.base import Limit, RateLimiter
from app.services.ports import ThrottledAction

logger = logging.getLogger("hunch.ratelimit")


@dataclass(frozen=True)
class ThrottleLimits:
    trade_per_member: Limit
    trade_per_guild: Limit
    create_per_member: Limit


class RateLimitThrottle:
    """`app.services.ports.Throttle`. Server managers are not limited, and a limiter that cannot be reached
    lets everything through (loudly): an outage of the limiter must not stop trading."""

    def __init__(self, limiter: RateLimiter, limits: ThrottleLimits) -> None:
        self.limiter = limiter
        self.limits = limits

    def checks(self, actor: Actor, action: ThrottledAction) -> list[tuple[str, Limit]]:
        member = f"{actor.guild_id}:{actor.user_id}"
        if action is ThrottledAction.TRADE:
            return [
                (f"trade:m:{member}", self.limits.trade_per_member),
                (f"trade:g:{actor.guild_id}", self.limits.trade_per_guild),
            ]
        return [(f"create:m:{member}", self.limits.create_per_member)]

    async def __call__(self, actor: Actor, action: ThrottledAction) -> None:
        if actor.is_manager:
            return
        checks = self.checks(actor, action)
        scope = "trade" if action is ThrottledAction.TRADE else "create"
        try:
            with telemetry.span("rate_limit.check", scope=scope):
                decision = await self.limiter.hit_all(checks)  # all or nothing, in one round trip
        except Exception:
            logger.warning("rate limiter unavailable; allowing %s", ", ".join(key for key, _ in checks), exc_info=True)
            return
        if not decision.allowed:
            assert decision.retry_at is not None
            # The limiter decides on a trade's member and server keys at once and does not say which refused.
            telemetry.count(telemetry.RATE_LIMIT_REFUSALS, scope=scope)
            raise RateLimited("Slow down!", decision.retry_at)
