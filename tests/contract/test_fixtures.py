"""Replays recorded interactions (tests/fixtures/interactions) and Discord's captured requests
(../shared/discord/payloads) through the real ASGI app, checking every reply against Discord's schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bootstrap import bootstrap
from app.ratelimit import MemoryRateLimiter
from app.web import create_app
from tests.conftest import make_settings
from tests.support.discord_schema import SHARED, assert_valid_response
from tests.support.signing import Signer

FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "interactions").glob("*.json"))
PAYLOADS = SHARED / "payloads"
shared_present = pytest.mark.skipif(not PAYLOADS.is_dir(), reason="../shared/discord is not present")


async def _client(database: Any, public_key: str) -> httpx.AsyncClient:
    settings = make_settings(database.settings.database_url, public_key, SIGNATURE_MAX_AGE_SECONDS=0)
    hunch = bootstrap(settings, database=database, rate_limiter=MemoryRateLimiter())
    transport = httpx.ASGITransport(app=create_app(settings, hunch))
    return httpx.AsyncClient(transport=transport, base_url="http://hunch.test")


def check(expect: dict[str, Any], response: httpx.Response) -> None:
    assert response.status_code == expect["status"], response.text
    if response.status_code != 200:
        return
    body = response.json()
    if SHARED.is_dir():
        assert_valid_response(body)
    if "json" in expect:
        assert body == expect["json"]
    if "type" in expect:
        assert body["type"] == expect["type"]
    data = body.get("data", {})
    if "ephemeral" in expect:
        assert bool(data.get("flags", 0) & 64) is expect["ephemeral"]
    if "content_contains" in expect:
        assert expect["content_contains"] in data.get("content", "")
    if "embed_title_contains" in expect:
        assert expect["embed_title_contains"] in data["embeds"][0]["title"]
    if "embed_description_contains" in expect:
        assert expect["embed_description_contains"] in data["embeds"][0]["description"]
    if body["type"] in (4, 7):
        assert data["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
async def test_recorded_fixture(path: Path, app_database) -> None:
    record = json.loads(path.read_text())
    async with await _client(app_database, record["public_key"]) as client:
        response = await client.post(
            "/interactions", content=record["request"]["body"].encode(), headers=record["request"]["headers"]
        )
    check(record["expect"], response)


def test_there_are_fixtures_to_replay() -> None:
    assert len(FIXTURES) >= 5


def _captured(name: str) -> tuple[bytes, dict[str, str], str]:
    meta = json.loads((PAYLOADS / f"{name}.headers.json").read_text())
    body = (PAYLOADS / meta["body_file"]).read_bytes()
    return body, meta["headers"], meta["public_key_hex"]


@shared_present
@pytest.mark.parametrize("name", ["01_ping_signed_2024", "02_slash_command_guild_signed_2025"])
async def test_captured_requests_verify_byte_for_byte(name: str, app_database) -> None:
    body, headers, key = _captured(name)
    async with await _client(app_database, key) as client:
        response = await client.post("/interactions", content=body, headers=headers)
        assert response.status_code == 200
        assert_valid_response(response.json())
        reserialised = json.dumps(json.loads(body)).encode()  # what a careless proxy would do
        refused = await client.post("/interactions", content=reserialised, headers=headers)
        assert refused.status_code == 401


@shared_present
async def test_captured_ping_gets_pong(app_database) -> None:
    body, headers, key = _captured("01_ping_signed_2024")
    async with await _client(app_database, key) as client:
        response = await client.post("/interactions", content=body, headers=headers)
    assert response.json() == {"type": 1}


@shared_present
@pytest.mark.parametrize(
    "name",
    [
        "03_modal_submit_label_2025",
        "04_slash_command_2020_dispike",
        "05_docs_slash_command_example",
        "06_docs_user_command_example",
    ],
)
async def test_every_known_payload_shape_parses_and_gets_a_valid_reply(name: str, app_database, signer: Signer) -> None:
    body = (PAYLOADS / f"{name}.json").read_bytes()
    async with await _client(app_database, signer.public_key_hex) as client:
        response = await client.post("/interactions", content=body, headers=signer.headers(body))
    assert response.status_code == 200, response.text
    reply = response.json()
    assert_valid_response(reply)
    assert reply["data"]["flags"] & 64  # unknown to Hunch: an ephemeral explanation, never an error
