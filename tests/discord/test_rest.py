"""DiscordRest: the bulk overwrite request, rate limits and error messages (Discord mocked with respx)."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.rest import DiscordRest
from app.discord.rest_errors import DiscordApiError, DiscordRateLimited

API = "https://discord.com/api/v10"
APP_ID = "111111111111111111"
GUILD_ID = "222222222222222222"
TOKEN = "MTExMTExMTExMTExMTExMTEx.GaBcDe.fake-token-for-tests_0123456789abcdefgh"
GLOBAL_URL = f"{API}/applications/{APP_ID}/commands"
GUILD_URL = f"{API}/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
COMMANDS: list[dict[str, Any]] = [
    {"type": 1, "name": "daily", "description": "Claim your daily bonus", "contexts": [0], "integration_types": [0]}
]
REGISTERED = [{**COMMANDS[0], "id": "333333333333333333", "application_id": APP_ID, "version": "1"}]


class FakeTime:
    """An injectable sleep that records its calls and advances a fake monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def rest(fake_time: FakeTime) -> Any:
    async with DiscordRest(TOKEN, sleep=fake_time.sleep, clock=fake_time.clock, max_retries=3, max_sleep=30) as client:
        yield client


@pytest.fixture
def discord() -> Any:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def _rate_limited(retry_after: float | None = 0.25, **headers: str) -> httpx.Response:
    body = {"message": "You are being rate limited.", "global": False}
    if retry_after is not None:
        body["retry_after"] = retry_after
    return httpx.Response(429, json=body, headers=headers)


def _assert_no_token(exc: BaseException) -> None:
    assert TOKEN not in str(exc)
    assert TOKEN not in repr(exc)
    assert all(TOKEN not in str(arg) for arg in exc.args)


# --- the request ---------------------------------------------------------------------------------------------------


async def test_global_overwrite_puts_the_commands_with_bot_auth(rest: DiscordRest, discord: respx.MockRouter) -> None:
    route = discord.put(GLOBAL_URL).respond(200, json=REGISTERED)
    assert await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS) == REGISTERED

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "PUT"
    assert str(request.url) == GLOBAL_URL
    assert request.headers["Authorization"] == f"Bot {TOKEN}"
    assert request.headers["User-Agent"] == "DiscordBot (https://github.com/hunch, 0.1)"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == COMMANDS


async def test_guild_overwrite_uses_the_guild_route(rest: DiscordRest, discord: respx.MockRouter) -> None:
    global_route = discord.put(GLOBAL_URL).respond(200, json=[])
    guild_route = discord.put(GUILD_URL).respond(200, json=REGISTERED)
    assert await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS, guild_id=GUILD_ID) == REGISTERED
    assert guild_route.call_count == 1 and not global_route.called
    assert json.loads(guild_route.calls.last.request.content) == COMMANDS


async def test_an_empty_list_clears_the_commands(rest: DiscordRest, discord: respx.MockRouter) -> None:
    route = discord.put(GLOBAL_URL).respond(200, json=[])
    assert await DiscordApi(rest).bulk_overwrite_commands(APP_ID, []) == []
    assert json.loads(route.calls.last.request.content) == []


async def test_a_bot_prefix_on_the_token_is_not_doubled(discord: respx.MockRouter) -> None:
    route = discord.put(GLOBAL_URL).respond(200, json=[])
    async with DiscordRest(f"Bot {TOKEN}\n") as client:
        await DiscordApi(client).bulk_overwrite_commands(APP_ID, [])
    assert route.calls.last.request.headers["Authorization"] == f"Bot {TOKEN}"


@pytest.mark.parametrize("bad_id", ["", "abc", "123/../456", "\uff11\uff12\uff13"])
async def test_ids_must_be_snowflakes(rest: DiscordRest, discord: respx.MockRouter, bad_id: str) -> None:
    with pytest.raises(ValueError, match="numeric"):
        await DiscordApi(rest).bulk_overwrite_commands(bad_id, COMMANDS)
    with pytest.raises(ValueError, match="numeric"):
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS, guild_id=bad_id)
    assert discord.calls.call_count == 0


def test_a_malformed_token_is_rejected_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="DISCORD_BOT_TOKEN") as caught:
        DiscordRest("secret-part\nInjected: header")
    assert "secret-part" not in str(caught.value)
    with pytest.raises(ValueError, match="empty"):
        DiscordRest("   ")


def test_repr_hides_the_token() -> None:
    assert TOKEN not in repr(DiscordRest(TOKEN))


# --- rate limits -----------------------------------------------------------------------------------------------------


async def test_429_waits_retry_after_then_succeeds(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = discord.put(GLOBAL_URL).mock(
        side_effect=[
            _rate_limited(0.25, **{"Retry-After": "1", "X-RateLimit-Reset-After": "0.25"}),
            httpx.Response(200, json=REGISTERED),
        ]
    )
    assert await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS) == REGISTERED
    assert route.call_count == 2
    assert fake_time.sleeps == [0.25]  # the body's precise value wins over the rounded header
    assert json.loads(route.calls[1].request.content) == COMMANDS


async def test_429_without_a_body_uses_retry_after_header(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    discord.put(GLOBAL_URL).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=[])]
    )
    await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert fake_time.sleeps == [2.0]


async def test_429_falls_back_to_reset_after_header(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    discord.put(GLOBAL_URL).mock(
        side_effect=[
            _rate_limited(None, **{"X-RateLimit-Reset-After": "1.5"}),
            httpx.Response(200, json=[]),
        ]
    )
    await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert fake_time.sleeps == [1.5]


async def test_too_many_429s_gives_up(rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime) -> None:
    route = discord.put(GLOBAL_URL).mock(return_value=_rate_limited(0.5))
    with pytest.raises(DiscordRateLimited) as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert route.call_count == 4  # the first try and 3 retries
    assert fake_time.sleeps == [0.5, 0.5, 0.5]
    assert caught.value.status == 429
    assert caught.value.retry_after == 0.5
    assert "rate limiting" in str(caught.value) and "3 retries" in str(caught.value)
    _assert_no_token(caught.value)


async def test_a_wait_longer_than_max_sleep_is_reported_not_slept(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = discord.put(GLOBAL_URL).mock(return_value=_rate_limited(1336.57, **{"X-RateLimit-Scope": "shared"}))
    with pytest.raises(DiscordRateLimited, match=r"1336\.6s") as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert route.call_count == 1
    assert fake_time.sleeps == []
    assert "shared" in str(caught.value)


async def test_an_exhausted_bucket_delays_the_next_request(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    exhausted = {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "3.5"}
    route = discord.put(GLOBAL_URL).mock(
        side_effect=[httpx.Response(200, json=[], headers=exhausted), httpx.Response(200, json=[])]
    )
    await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert fake_time.sleeps == []
    fake_time.now += 1.0  # time passes between the calls; only the rest of the window is waited
    await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert fake_time.sleeps == [2.5]
    assert route.call_count == 2


async def test_remaining_requests_mean_no_wait(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    headers = {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset-After": "3.5"}
    discord.put(GLOBAL_URL).mock(return_value=httpx.Response(200, json=[], headers=headers))
    await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert fake_time.sleeps == []


async def test_server_errors_are_retried_with_backoff(
    rest: DiscordRest, discord: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = discord.put(GLOBAL_URL).mock(
        side_effect=[httpx.Response(502), httpx.Response(503), httpx.Response(200, json=REGISTERED)]
    )
    assert await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS) == REGISTERED
    assert route.call_count == 3
    assert fake_time.sleeps == [1.0, 2.0]


async def test_retry_logs_do_not_contain_the_token(
    rest: DiscordRest, discord: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    discord.put(GLOBAL_URL).mock(side_effect=[_rate_limited(0.1), httpx.Response(200, json=[])])
    with caplog.at_level(logging.DEBUG):
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert "rate limited" in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in repr(getattr(record, "fields", ""))


# --- errors ----------------------------------------------------------------------------------------------------------


async def test_401_says_to_check_the_token(rest: DiscordRest, discord: respx.MockRouter) -> None:
    route = discord.put(GLOBAL_URL).respond(401, json={"message": "401: Unauthorized", "code": 0})
    with pytest.raises(DiscordApiError) as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    assert str(caught.value) == "Discord rejected the bot token (401): check DISCORD_BOT_TOKEN"
    assert caught.value.status == 401
    assert route.call_count == 1  # never retried: repeated 401s earn a Cloudflare ban
    _assert_no_token(caught.value)


async def test_403_explains_missing_access(rest: DiscordRest, discord: respx.MockRouter) -> None:
    discord.put(GUILD_URL).respond(403, json={"message": "Missing Access", "code": 50001})
    with pytest.raises(DiscordApiError) as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS, guild_id=GUILD_ID)
    message = str(caught.value)
    assert "403" in message and "Missing Access" in message and "applications.commands" in message
    assert caught.value.code == 50001
    _assert_no_token(caught.value)


async def test_404_points_at_the_application_or_guild_id(rest: DiscordRest, discord: respx.MockRouter) -> None:
    discord.put(GUILD_URL).respond(404, json={"message": "Unknown Guild", "code": 10004})
    with pytest.raises(DiscordApiError) as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS, guild_id=GUILD_ID)
    message = str(caught.value)
    assert "404" in message and "Unknown Guild" in message
    assert "DISCORD_APPLICATION_ID" in message and "guild id" in message
    assert GUILD_ID in message
    _assert_no_token(caught.value)


async def test_400_names_the_invalid_field(rest: DiscordRest, discord: respx.MockRouter) -> None:
    body = {
        "code": 50035,
        "message": "Invalid Form Body",
        "errors": {
            "0": {
                "options": {
                    "1": {
                        "name": {
                            "_errors": [
                                {"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Command name is invalid"}
                            ]
                        }
                    }
                }
            }
        },
    }
    discord.put(GLOBAL_URL).respond(400, json=body)
    with pytest.raises(DiscordApiError) as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    message = str(caught.value)
    assert "400" in message and "Invalid Form Body" in message
    assert "0.options.1.name: Command name is invalid (APPLICATION_COMMAND_INVALID_NAME)" in message
    assert caught.value.code == 50035
    _assert_no_token(caught.value)


async def test_an_error_without_json_still_reads_well(rest: DiscordRest, discord: respx.MockRouter) -> None:
    discord.put(GLOBAL_URL).respond(418, text="<html>teapot</html>")
    with pytest.raises(DiscordApiError, match="418") as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    _assert_no_token(caught.value)


async def test_network_errors_become_api_errors(rest: DiscordRest, discord: respx.MockRouter) -> None:
    discord.put(GLOBAL_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(DiscordApiError, match="Could not reach Discord") as caught:
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
    _assert_no_token(caught.value)
    assert caught.value.__cause__ is None  # the httpx exception (and its request) is not chained


async def test_a_non_list_success_body_is_an_error(rest: DiscordRest, discord: respx.MockRouter) -> None:
    discord.put(GLOBAL_URL).respond(200, json={"unexpected": True})
    with pytest.raises(DiscordApiError, match="list of commands"):
        await DiscordApi(rest).bulk_overwrite_commands(APP_ID, COMMANDS)
