"""Discord's rate limits as `DiscordRest` honours them (`app/discord/ratelimits.py`), against a respx Discord:
shared buckets, major parameters, the global limit, sub-limits and the invalid-request ceiling."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.rest import DiscordRest
from app.discord.rest_errors import DiscordApiError, DiscordRateLimited
from tests.discord.test_rest import API, TOKEN, FakeTime

CHANNEL_A, CHANNEL_B, MESSAGE = "400000000000000001", "400000000000000002", "500000000000000001"
APP = "111111111111111111"
WEBHOOK_TOKEN = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTA6c2VjcmV0LWludGVyYWN0aW9uLXRva2Vu" * 2
EXHAUSTED = {"X-RateLimit-Bucket": "abcd1234", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "2"}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def api(fake_time: FakeTime) -> Any:
    async with DiscordRest(TOKEN, sleep=fake_time.sleep, clock=fake_time.clock, max_sleep=30) as rest:
        yield DiscordApi(rest)


@pytest.fixture
def discord() -> Any:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def _edit_url(channel: str) -> str:
    return f"{API}/channels/{channel}/messages/{MESSAGE}"


async def test_routes_discord_puts_in_one_bucket_wait_for_each_other(
    api: DiscordApi, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    discord.patch(_edit_url(CHANNEL_A)).respond(200, json={}, headers=EXHAUSTED)
    post = discord.post(f"{API}/channels/{CHANNEL_A}/messages").respond(200, json={}, headers=EXHAUSTED)
    await api.edit_message(CHANNEL_A, MESSAGE, {"content": "edit"})
    await api.create_message(CHANNEL_A, {"content": "first post"}, nonce="n1")  # learns the shared bucket
    assert fake_time.sleeps == []
    await api.edit_message(CHANNEL_A, MESSAGE, {"content": "edit"})
    assert fake_time.sleeps == [2.0]  # the post exhausted the bucket the edit shares
    await api.create_message(CHANNEL_A, {"content": "second post"}, nonce="n2")
    assert fake_time.sleeps == [2.0, 2.0] and post.call_count == 2


async def test_one_bucket_on_two_channels_is_two_limits(
    api: DiscordApi, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    for channel in (CHANNEL_A, CHANNEL_B):
        discord.patch(_edit_url(channel)).respond(200, json={}, headers=EXHAUSTED)
    await api.edit_message(CHANNEL_A, MESSAGE, {"content": "a"})
    await api.edit_message(CHANNEL_B, MESSAGE, {"content": "b"})
    assert fake_time.sleeps == []  # channel B's edits are not held back by channel A's


async def test_a_global_429_holds_back_every_route(
    api: DiscordApi, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    limited = httpx.Response(
        429,
        json={"message": "You are being rate limited.", "retry_after": 1.5, "global": True},
        headers={"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
    )
    discord.patch(_edit_url(CHANNEL_A)).mock(side_effect=[limited, httpx.Response(200, json={})])
    other = discord.patch(_edit_url(CHANNEL_B)).respond(200, json={})

    async def edit_b_meanwhile() -> None:
        await asyncio.sleep(0)
        await api.edit_message(CHANNEL_B, MESSAGE, {"content": "b"})

    await asyncio.gather(api.edit_message(CHANNEL_A, MESSAGE, {"content": "a"}), edit_b_meanwhile())
    assert other.call_count == 1
    assert fake_time.sleeps.count(1.5) >= 1 and sum(fake_time.sleeps) >= 1.5
    assert fake_time.now >= 1000.0 + 1.5  # neither request went before the global limit was over


async def test_a_sub_limit_429_waits_on_its_own_bucket(
    api: DiscordApi, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    sub_limit = httpx.Response(
        429,
        json={"message": "You are being rate limited.", "retry_after": 4.0, "global": False},
        headers={"X-RateLimit-Scope": "user", "X-RateLimit-Remaining": "3", "X-RateLimit-Bucket": "abcd1234"},
    )
    edits = discord.patch(_edit_url(CHANNEL_A)).mock(side_effect=[sub_limit, httpx.Response(200, json={})])
    other = discord.patch(_edit_url(CHANNEL_B)).respond(200, json={})
    await api.edit_message(CHANNEL_A, MESSAGE, {"content": "a"})  # the headers said 3 left, yet it waited
    assert fake_time.sleeps == [4.0] and edits.call_count == 2
    await api.edit_message(CHANNEL_B, MESSAGE, {"content": "b"})
    assert fake_time.sleeps == [4.0] and other.call_count == 1


async def test_requests_on_one_bucket_go_one_at_a_time(api: DiscordApi, discord: respx.MockRouter) -> None:
    in_flight, most = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json={}, headers={"X-RateLimit-Remaining": "5", "X-RateLimit-Reset-After": "1"})

    discord.patch(_edit_url(CHANNEL_A)).mock(side_effect=slow)
    await asyncio.gather(*(api.edit_message(CHANNEL_A, MESSAGE, {"content": str(n)}) for n in range(5)))
    assert most == 1


async def test_invalid_requests_stop_well_short_of_discords_ban(discord: respx.MockRouter, fake_time: FakeTime) -> None:
    rest = DiscordRest(TOKEN, sleep=fake_time.sleep, clock=fake_time.clock)
    rest.limits.invalid_ceiling = 5
    api = DiscordApi(rest)
    forbidden = discord.patch(_edit_url(CHANNEL_A)).respond(403, json={"message": "Missing Access", "code": 50001})
    shared = httpx.Response(
        429, json={"message": "limited", "retry_after": 900.0}, headers={"X-RateLimit-Scope": "shared"}
    )
    discord.post(f"{API}/channels/{CHANNEL_B}/messages").mock(return_value=shared)
    for _ in range(3):  # a shared-scope 429 is not counted against us
        with pytest.raises(DiscordRateLimited):
            await api.create_message(CHANNEL_B, {"content": "x"}, nonce="n")
    assert rest.limits.invalid_recently() == 0
    for _ in range(5):
        with pytest.raises(DiscordApiError):
            await api.edit_message(CHANNEL_A, MESSAGE, {"content": "x"})
    with pytest.raises(DiscordRateLimited, match="invalid requests"):
        await api.edit_message(CHANNEL_A, MESSAGE, {"content": "x"})
    assert forbidden.call_count == 5  # the sixth was refused here, never sent
    fake_time.now += 601  # ten minutes on, the count has fallen
    with pytest.raises(DiscordApiError, match="403"):
        await api.edit_message(CHANNEL_A, MESSAGE, {"content": "x"})
    await rest.aclose()


async def test_an_interaction_token_never_reaches_an_error_or_a_log(
    api: DiscordApi, discord: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{API}/webhooks/{APP}/{WEBHOOK_TOKEN}/messages/@original"
    discord.patch(url).mock(
        side_effect=[httpx.ConnectError(f"refused {url}"), httpx.Response(404, json={"code": 10015})]
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(DiscordApiError) as caught:
        await api.edit_original(APP, WEBHOOK_TOKEN, {"content": "done"})
    assert (
        caught.value.code == 10015 and caught.value.path == "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
    )
    assert WEBHOOK_TOKEN not in str(caught.value) and WEBHOOK_TOKEN not in repr(caught.value.args)
    assert "Could not reach" not in caplog.text and caplog.records  # the network error was logged, scrubbed
    for record in caplog.records:
        assert WEBHOOK_TOKEN not in record.getMessage() and WEBHOOK_TOKEN not in repr(getattr(record, "fields", ""))
