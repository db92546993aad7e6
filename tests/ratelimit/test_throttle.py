"""`RateLimitThrottle`, the use cases' throttle on a rate limiter: server managers are never limited, a trade
counts on the member's key and on the guild's, creating a market on the member's own key, a refusal raises
`RateLimited` saying when to retry (and counts nothing), and a limiter that fails lets the action through with
a warning."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from app import telemetry
from app.domain.actor import Actor
from app.domain.errors import RateLimited
from app.ratelimit import Decision, Limit, MemoryRateLimiter
from app.ratelimit.throttle import RateLimitThrottle, ThrottleLimits
from app.services.ports import ThrottledAction
from tests.monitoring.promql import documented_row

GUILD, OTHER_GUILD = 900000000000000001, 900000000000000002
TRADE, CREATE = ThrottledAction.TRADE, ThrottledAction.CREATE_MARKET
WINDOW = 60
LIMITS = ThrottleLimits(
    trade_per_member=Limit(hits=2, window_seconds=WINDOW),
    trade_per_guild=Limit(hits=3, window_seconds=WINDOW),
    create_per_member=Limit(hits=1, window_seconds=WINDOW),
)


def member(user_id: int, *, guild: int = GUILD, manager: bool = False) -> Actor:
    return Actor(guild_id=guild, user_id=user_id, is_manager=manager)


class Unreachable:
    """A limiter whose store is down: every call raises."""

    def __init__(self) -> None:
        self.calls = 0

    async def hit(self, key: str, limit: Limit, *, now: datetime | None = None) -> Decision:
        return await self.hit_all([(key, limit)], now=now)

    async def hit_all(self, checks: Sequence[tuple[str, Limit]], *, now: datetime | None = None) -> Decision:
        self.calls += 1
        raise ConnectionError("the limiter's store is down")

    async def reset(self, key: str) -> None:
        raise ConnectionError("the limiter's store is down")


@pytest.fixture
def throttle() -> RateLimitThrottle:
    return RateLimitThrottle(MemoryRateLimiter(), LIMITS)


def test_a_trade_is_checked_on_the_member_and_the_guild_and_a_creation_on_the_member(
    throttle: RateLimitThrottle,
) -> None:
    alice, bob, elsewhere = member(1), member(2), member(1, guild=OTHER_GUILD)
    [(alice_key, per_member), (guild_key, per_guild)] = throttle.checks(alice, TRADE)
    assert (per_member, per_guild) == (LIMITS.trade_per_member, LIMITS.trade_per_guild)
    [(bob_key, _), (bobs_guild_key, _)] = throttle.checks(bob, TRADE)
    assert bob_key != alice_key and bobs_guild_key == guild_key
    [(elsewhere_key, _), (other_guild_key, _)] = throttle.checks(elsewhere, TRADE)
    assert elsewhere_key != alice_key and other_guild_key != guild_key
    [(create_key, per_creation)] = throttle.checks(alice, CREATE)
    assert per_creation == LIMITS.create_per_member and create_key not in {alice_key, guild_key}


async def test_trades_count_on_the_member_and_on_the_guild(throttle: RateLimitThrottle) -> None:
    alice, bob, carol = member(1), member(2), member(3)
    await throttle(alice, TRADE)
    await throttle(alice, TRADE)
    with pytest.raises(RateLimited):
        await throttle(alice, TRADE)  # her own limit: two a minute
    await throttle(bob, TRADE)  # the guild's third trade this minute
    with pytest.raises(RateLimited):
        await throttle(carol, TRADE)  # her first, but the guild's limit is three a minute
    await throttle(member(3, guild=OTHER_GUILD), TRADE)  # another guild counts its own
    await throttle(member(4, guild=OTHER_GUILD), TRADE)


async def test_creating_markets_counts_on_the_member_apart_from_trading(throttle: RateLimitThrottle) -> None:
    alice = member(1)
    await throttle(alice, CREATE)
    with pytest.raises(RateLimited):
        await throttle(alice, CREATE)
    await throttle(alice, TRADE)  # trading has a count of its own
    await throttle(member(2), CREATE)  # and so has every member


async def test_a_refusal_raises_rate_limited_with_when_to_retry(throttle: RateLimitThrottle) -> None:
    alice = member(1)
    before = datetime.now(UTC)
    await throttle(alice, TRADE)
    await throttle(alice, TRADE)
    with pytest.raises(RateLimited) as refused:
        await throttle(alice, TRADE)
    after = datetime.now(UTC)
    window = timedelta(seconds=WINDOW)
    # When her first trade leaves the window (times are whole milliseconds).
    assert before + window - timedelta(milliseconds=1) <= refused.value.retry_at <= after + window
    assert refused.value.retry_at.utcoffset() == timedelta(0)
    assert refused.value.code == "rate_limited"


async def test_a_refusal_counts_nothing(throttle: RateLimitThrottle) -> None:
    alice, bob = member(1), member(2)
    await throttle(alice, TRADE)
    await throttle(alice, TRADE)
    for _ in range(5):  # refused by her own limit: the guild's count must not move
        with pytest.raises(RateLimited):
            await throttle(alice, TRADE)
    await throttle(bob, TRADE)  # the guild's third, so none of her refusals counted on it


async def test_managers_are_never_limited(throttle: RateLimitThrottle) -> None:
    boss = member(99, manager=True)
    for user in (1, 1, 2):  # the guild's three trades this minute
        await throttle(member(user), TRADE)
    with pytest.raises(RateLimited):
        await throttle(member(3), TRADE)
    for _ in range(10):  # over the member's limit, the guild's, and the create limit, many times
        await throttle(boss, TRADE)
        await throttle(boss, CREATE)


async def test_a_limiter_that_fails_lets_the_action_through_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    down = Unreachable()
    throttle = RateLimitThrottle(down, LIMITS)
    alice = member(1)
    with caplog.at_level(logging.WARNING, logger="hunch.ratelimit"):
        for _ in range(5):  # over every limit, had they been counted
            await throttle(alice, TRADE)
        await throttle(alice, CREATE)
        await throttle(alice, CREATE)
    assert down.calls == 7  # the limiter was asked every time
    warnings = [r for r in caplog.records if r.name == "hunch.ratelimit" and r.levelno == logging.WARNING]
    assert len(warnings) == 7
    assert all(r.exc_info is not None and r.exc_info[0] is ConnectionError for r in warnings)
    assert all(key in warnings[0].getMessage() for key, _ in throttle.checks(alice, TRADE))
    assert all(key in warnings[-1].getMessage() for key, _ in throttle.checks(alice, CREATE))


async def test_refusals_are_counted_by_the_scopes_the_readme_documents(throttle: RateLimitThrottle) -> None:
    scopes: list[str] = []

    class Kept:
        def record(self, metric: telemetry.Metric, value: float, labels: Mapping[str, str]) -> None:
            if metric is telemetry.RATE_LIMIT_REFUSALS:
                scopes.append(labels["scope"])

    telemetry.install(Kept())
    alice, bob = member(1), member(2)
    for who, action, times in ((alice, TRADE, 2), (bob, TRADE, 1), (alice, CREATE, 1)):
        for _ in range(times):
            await throttle(who, action)
    for who, action in ((alice, TRADE), (bob, TRADE), (alice, CREATE)):  # the member's, the server's, creating
        with pytest.raises(RateLimited):
            await throttle(who, action)
    assert scopes == ["trade", "trade", "create"]  # the limiter does not say which of a trade's keys refused
    assert documented_row("hunch_rate_limit_refusals_total")[1] == set(scopes)
