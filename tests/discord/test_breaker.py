"""The circuit breaker around Discord's REST API (`app/discord/breaker.py`), alone and inside `DiscordRest`."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.breaker import BreakerState, CircuitBreaker
from app.discord.rest import DiscordRest
from app.discord.rest_errors import DiscordApiError, DiscordUnavailable
from tests.discord.test_rest import API, TOKEN, FakeTime

EDIT = f"{API}/channels/400000000000000001/messages/500000000000000001"


def test_it_opens_after_consecutive_failures_only() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=time.clock)
    for _ in range(2):
        breaker.failed()
    breaker.succeeded()  # a success in between starts the count again
    for _ in range(2):
        breaker.failed()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.failed()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_in() == 10


def test_half_open_lets_one_probe_through_and_its_result_decides() -> None:
    time = FakeTime()
    breaker = CircuitBreaker(threshold=1, cooldown=10, longest_cooldown=30, clock=time.clock)
    breaker.failed()
    time.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failed()  # the probe failed: open for twice as long
    assert breaker.state is BreakerState.OPEN and breaker.retry_in() == 20
    time.now += 20
    assert breaker.allow()
    breaker.failed()
    assert breaker.retry_in() == 30  # never longer than the longest cooldown
    time.now += 30
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.retry_in() == 0
    breaker.failed()
    assert breaker.retry_in() == 10  # closed again, the cooldown starts from the beginning


def test_its_state_changes_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    time = FakeTime()
    breaker = CircuitBreaker(threshold=1, cooldown=5, clock=time.clock)
    with caplog.at_level(logging.WARNING, logger="hunch.discord"):
        breaker.failed()
        time.now += 5
        breaker.allow()
        breaker.succeeded()
    assert [r.getMessage() for r in caplog.records] == ["discord breaker open", "discord breaker closed"]


@pytest.fixture
def discord() -> Any:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


async def test_an_outage_opens_it_and_calls_are_refused_without_waiting(discord: respx.MockRouter) -> None:
    time = FakeTime()
    breaker = CircuitBreaker(threshold=2, cooldown=15, clock=time.clock)
    rest = DiscordRest(TOKEN, sleep=time.sleep, clock=time.clock, breaker=breaker, max_retries=1)
    api = DiscordApi(rest)
    route = discord.patch(EDIT).mock(side_effect=httpx.ConnectTimeout("timed out"))
    for _ in range(2):
        with pytest.raises(DiscordApiError, match="Could not reach Discord"):
            await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})
    assert route.call_count == 4 and breaker.state is BreakerState.OPEN
    slept = list(time.sleeps)
    for _ in range(50):
        with pytest.raises(DiscordUnavailable) as refused:
            await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})
    assert route.call_count == 4 and time.sleeps == slept  # refused here: no request, no wait
    assert refused.value.retry_in == 15

    time.now += 15
    route.mock(side_effect=None, return_value=httpx.Response(200, json={}))
    await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})  # the probe
    assert breaker.state is BreakerState.CLOSED and route.call_count == 5
    await rest.aclose()


async def test_server_errors_that_outlive_their_retries_count_and_client_errors_do_not(
    discord: respx.MockRouter,
) -> None:
    time = FakeTime()
    breaker = CircuitBreaker(threshold=2, clock=time.clock)
    rest = DiscordRest(TOKEN, sleep=time.sleep, clock=time.clock, breaker=breaker, max_retries=1)
    api = DiscordApi(rest)
    route = discord.patch(EDIT).mock(return_value=httpx.Response(503))
    with pytest.raises(DiscordApiError, match="503"):
        await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})
    route.mock(return_value=httpx.Response(404, json={"message": "Unknown Message", "code": 10008}))
    with pytest.raises(DiscordApiError):
        await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})
    route.mock(return_value=httpx.Response(503))
    with pytest.raises(DiscordApiError):
        await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})
    assert breaker.state is BreakerState.CLOSED  # the 404 said Discord is up
    with pytest.raises(DiscordApiError):
        await api.edit_message("400000000000000001", "500000000000000001", {"content": "x"})
    assert breaker.state is BreakerState.OPEN
    await rest.aclose()
