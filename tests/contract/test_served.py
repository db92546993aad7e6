"""From outside, as Discord would see it: `python -m app serve` in its own process on the embedded database,
with its in-process worker, and a stand-in for Discord's REST API served on a real port at
`DISCORD_API_BASE_URL`. Signed interactions post a market and trade on it; the market's message follows;
a resolution settles it and the message says so."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.support.discord_payloads import CHANNEL_MESSAGE, DEFERRED, User, check_reply, slash_command
from tests.support.signing import Signer
from tests.support.stand_in_discord import StandInDiscord, asgi_app, rate_limited

REPO = Path(__file__).resolve().parents[2]
BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GxYzAb.stand-in-bot-token-0123456789abcdefghij"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_discord() -> Iterator[StandInDiscord]:
    port = _free_port()
    discord = StandInDiscord(base_url=f"http://127.0.0.1:{port}/api/v10")
    server = uvicorn.Server(uvicorn.Config(asgi_app(discord), port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield discord
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def hunch_server(tmp_path: Path, signer: Signer, served_discord: StandInDiscord) -> Iterator[str]:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "REDIS_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hunch.sqlite3'}",
        "DISCORD_PUBLIC_KEY": signer.public_key_hex,
        "DISCORD_APPLICATION_ID": "1100000000000000000",
        "DISCORD_BOT_TOKEN": BOT_TOKEN,
        "DISCORD_API_BASE_URL": served_discord.base_url,
        "LIVE_UPDATE_INTERVAL_SECONDS": "1",
        "DEFERRED_SETTLEMENT_HOLDERS": "10",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=REPO, env=env, check=True, capture_output=True)
    command = [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "1"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not come up")
        yield url
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
        assert BOT_TOKEN.encode() not in output, "the bot token reached the server's output"


async def _eventually(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds}s")


async def test_a_market_served_with_its_worker_follows_its_trades_and_its_resolution(
    hunch_server: str, served_discord: StandInDiscord, signer: Signer, alice: User, admin: User
) -> None:
    async with httpx.AsyncClient(base_url=hunch_server, timeout=10) as http:

        async def send(user: User, path: str, **options: Any) -> dict[str, Any]:
            payload = slash_command(user, path, options)
            body = signer.body(payload)
            response = await http.post("/interactions", content=body, headers=signer.headers(body))
            assert response.status_code == 200, response.text
            reply: dict[str, Any] = response.json()
            check_reply(reply)
            reply["token"] = payload["token"]
            return reply

        created = await send(alice, "market create", question="Served with its worker?")
        assert created["type"] == CHANNEL_MESSAGE
        message_id = await _eventually(lambda: served_discord.originals.get(created["token"]))
        served_discord.fail_next(rate_limited(0.3))  # the first edit is rate limited: waited out
        for n in range(12):
            member = User(str(810000000000000000 + n), f"member{n}", f"Member {n}")
            await send(member, "bet", market="1", outcome="Yes" if n % 4 else "No", amount=20)

        def shows_every_trade() -> bool:
            fields = (served_discord.messages[message_id].get("embeds") or [{}])[0].get("fields", [])
            return any(f["name"] == "Trades" and f["value"] == "12" for f in fields)

        await _eventually(shows_every_trade)
        edits = served_discord.edits(message_id)
        assert edits and all(e.authorization == f"Bot {BOT_TOKEN}" for e in edits)
        assert 429 in [c.status for c in served_discord.calls]

        # Twelve holders, at least DEFERRED_SETTLEMENT_HOLDERS: acknowledged at once, finished by the worker.
        resolved = await send(admin, "market resolve", market="1", outcome="Yes")
        assert resolved["type"] == DEFERRED

        def summary() -> dict[str, Any] | None:
            found = served_discord.original(resolved["token"])
            return found if found and found.get("embeds") else None

        finished = await _eventually(summary)
        assert finished["embeds"][0]["title"] == "Market #1 resolved"
        assert "to 9 member(s)" in finished["embeds"][0]["description"]
        await _eventually(lambda: served_discord.messages[message_id].get("components") == [])
        ready = (await http.get("/readyz")).json()
        assert ready["status"] == "pass"
        assert ready["checks"]["discord-api:breaker"][0]["observedValue"] == "closed"
