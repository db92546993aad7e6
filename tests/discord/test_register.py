"""Registering the slash commands with Discord (`python -m app register-commands`): a dry run, usage errors,
one bulk overwrite globally or in a guild, and API errors."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.register import register_commands
from app.discord.rest import DiscordRest
from handlers.definitions import COMMANDS, command_definitions

API = "https://discord.com/api/v10"
APP_ID = "111111111111111111"
GUILD_ID = "222222222222222222"
TOKEN = "MTExMTExMTExMTExMTExMTEx.GaBcDe.fake-token-for-tests_0123456789abcdefgh"


async def test_dry_run_prints_the_definitions_and_calls_nothing() -> None:
    out = io.StringIO()
    with respx.mock(assert_all_called=False) as mock:
        any_request = mock.route()  # matches every request, to anywhere
        code = await register_commands(
            command_definitions(), application_id="", bot_token=None, guild_id=None, dry_run=True, out=out
        )
        # Checked inside the block: respx forgets its calls on exit.
        assert not any_request.called
        assert mock.calls.call_count == 0
    assert code == 0
    printed = out.getvalue()
    assert json.loads(printed) == command_definitions()
    assert printed.startswith("[\n  {")  # indent 2


async def test_missing_token_is_a_usage_error_without_calling_discord() -> None:
    out = io.StringIO()
    with respx.mock(assert_all_called=False) as mock:
        code = await register_commands(
            command_definitions(), application_id=APP_ID, bot_token=None, guild_id=None, dry_run=False, out=out
        )
        assert mock.calls.call_count == 0
    assert code == 2
    assert "DISCORD_BOT_TOKEN" in out.getvalue()


async def test_missing_application_id_is_a_usage_error() -> None:
    out = io.StringIO()
    code = await register_commands(
        command_definitions(), application_id="", bot_token=TOKEN, guild_id=None, dry_run=False, out=out
    )
    assert code == 2
    assert "DISCORD_APPLICATION_ID" in out.getvalue()


def _echo(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    return httpx.Response(200, json=[{**c, "id": str(n), "application_id": APP_ID} for n, c in enumerate(sent)])


async def test_registers_globally_with_one_put() -> None:
    out = io.StringIO()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.put(f"{API}/applications/{APP_ID}/commands").mock(side_effect=_echo)
        code = await register_commands(
            command_definitions(), application_id=APP_ID, bot_token=TOKEN, guild_id=None, dry_run=False, out=out
        )
        assert route.call_count == 1 and mock.calls.call_count == 1
        assert json.loads(route.calls.last.request.content) == command_definitions()
    assert code == 0
    assert out.getvalue().startswith(f"Registered {len(COMMANDS)} commands globally\n")


def test_the_cli_registers_through_discord_api_base_url(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from app.cli import main
    from app.settings import get_settings

    proxy = "http://rest-proxy.internal:8080/api/v10"
    for name, value in {
        "DISCORD_API_BASE_URL": proxy,
        "DISCORD_BOT_TOKEN": TOKEN,
        "DISCORD_APPLICATION_ID": APP_ID,
        "DATABASE_URL": "sqlite:///unused.sqlite3",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("app.logging.configure_logging", lambda *args, **kwargs: None)  # keep pytest's handlers
    get_settings.cache_clear()
    try:
        with respx.mock(assert_all_called=False) as mock:
            route = mock.put(f"{proxy}/applications/{APP_ID}/commands").mock(side_effect=_echo)
            assert main(["register-commands"]) == 0
            assert route.call_count == 1 and mock.calls.call_count == 1
    finally:
        get_settings.cache_clear()
    assert "Registered" in capsys.readouterr().out


async def test_registers_in_a_guild() -> None:
    out = io.StringIO()
    with respx.mock(assert_all_called=False) as mock:
        route = mock.put(f"{API}/applications/{APP_ID}/guilds/{GUILD_ID}/commands").mock(side_effect=_echo)
        code = await register_commands(
            command_definitions(), application_id=APP_ID, bot_token=TOKEN, guild_id=GUILD_ID, dry_run=False, out=out
        )
        assert route.call_count == 1 and mock.calls.call_count == 1
    assert code == 0
    assert f"Registered {len(COMMANDS)} commands in guild {GUILD_ID}" in out.getvalue()


async def test_api_errors_exit_1_with_a_clear_message_and_no_token() -> None:
    out = io.StringIO()
    with respx.mock(assert_all_called=False) as mock:
        mock.put(f"{API}/applications/{APP_ID}/commands").respond(401, json={"message": "401: Unauthorized", "code": 0})
        code = await register_commands(
            command_definitions(), application_id=APP_ID, bot_token=TOKEN, guild_id=None, dry_run=False, out=out
        )
    assert code == 1
    assert "check DISCORD_BOT_TOKEN" in out.getvalue()
    assert TOKEN not in out.getvalue()


async def test_an_injected_client_is_used_and_left_open() -> None:
    out = io.StringIO()
    async with DiscordRest(TOKEN) as rest:
        with respx.mock(assert_all_called=False) as mock:
            route = mock.put(f"{API}/applications/{APP_ID}/commands").mock(side_effect=_echo)
            code = await register_commands(
                command_definitions(),
                application_id=APP_ID,
                bot_token=TOKEN,
                guild_id=None,
                dry_run=False,
                out=out,
                rest=rest,
            )
            assert code == 0 and route.call_count == 1
            assert await DiscordApi(rest).bulk_overwrite_commands(APP_ID, []) == []  # still usable
