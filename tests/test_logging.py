"""What operators read: one JSON log line per interaction, an error id for the unexpected, secrets never logged."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from app.bootstrap import bootstrap
from app.discord.router import Context
from app.logging import configure_logging, redact_text
from app.ratelimit import MemoryRateLimiter
from app.web import create_app
from tests.conftest import make_settings
from tests.support.signing import Signer

TOKEN = "aW50ZXJhY3Rpb246MTM4MTE3NzEwNzU1NTY4MDMyNzo2ZlVlTkdIQVFIdkdhNUN2bXlY"
BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789AB"


def interaction(name: str, interaction_id: str = "1400000000000000777") -> dict:
    return {
        "application_id": "1100000000000000000",
        "channel_id": "2",
        "data": {"id": "3", "name": name, "options": [], "type": 1},
        "guild_id": "900000000000000001",
        "id": interaction_id,
        "member": {"permissions": "0", "roles": [], "user": {"id": "42", "username": "ada"}},
        "token": TOKEN,
        "type": 2,
        "version": 1,
    }


@pytest.fixture
async def client_and_logs(app_database, signer: Signer):
    settings = make_settings(
        app_database.settings.database_url, signer.public_key_hex, LOG_LEVEL="INFO", DISCORD_BOT_TOKEN=BOT_TOKEN
    )
    hunch = bootstrap(settings, database=app_database, rate_limiter=MemoryRateLimiter())

    async def explode(ctx: Context) -> dict:
        raise RuntimeError(f"boom with {ctx.interaction.token} and {BOT_TOKEN}")

    hunch.router.command("explode")(explode)
    logs = io.StringIO()
    configure_logging("INFO", logs)
    transport = httpx.ASGITransport(app=create_app(settings, hunch))
    async with httpx.AsyncClient(transport=transport, base_url="http://hunch.test") as client:
        yield client, logs
    logging.getLogger().handlers.clear()


async def post(client: httpx.AsyncClient, signer: Signer, payload: dict) -> httpx.Response:
    body = signer.body(payload)
    return await client.post("/interactions", content=body, headers=signer.headers(body))


def log_lines(logs: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]


async def test_one_structured_line_per_interaction(client_and_logs, signer: Signer) -> None:
    client, logs = client_and_logs
    response = await post(client, signer, interaction("balance"))
    assert response.status_code == 200
    lines = [line for line in log_lines(logs) if line["message"] == "interaction"]
    assert len(lines) == 1
    line = lines[0]
    assert line["correlation_id"] == line["interaction_id"] == "1400000000000000777"
    assert line["type"] == "application_command"
    assert line["path"] == "balance"
    assert line["guild_id"] == "900000000000000001"
    assert line["user_id"] == "42"
    assert line["outcome"] == "ok"
    assert isinstance(line["latency_ms"], float)


async def test_unexpected_error_is_an_ephemeral_reply_with_an_id_and_no_secret_is_logged(
    client_and_logs, signer: Signer
) -> None:
    client, logs = client_and_logs
    response = await post(client, signer, interaction("explode", "1400000000000000778"))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["flags"] & 64
    error_id = data["content"].split("error id `")[1].split("`")[0]
    output = logs.getvalue()
    assert TOKEN not in output and BOT_TOKEN not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    failure = next(line for line in lines if line.get("error_id") == error_id and "exception" in line)
    assert "RuntimeError" in failure["exception"]
    summary = next(line for line in lines if line["message"] == "interaction")
    assert summary["outcome"] == "error" and summary["error_id"] == error_id


def test_redaction_covers_tokens_and_passwords() -> None:
    text = f"token={TOKEN} bot={BOT_TOKEN} url=postgresql://hunch:s3cret@db:5432/hunch"
    cleaned = redact_text(text)
    assert TOKEN not in cleaned and BOT_TOKEN not in cleaned and "s3cret" not in cleaned
