"""Hostile but validly signed interactions through the real ASGI app on the test database.

Each case is a valid interaction built from the command definitions, mutated or not (tests/support/fuzzing.py).
Whatever it is, the app answers with a 200 whose body Discord would accept and that pings nobody, or with a
400 and a short JSON error; never a 5xx. After every case the books still balance.

The run is reproducible (a fixed seed) and sized by HUNCH_FUZZ_EXAMPLES (default 2,500):
`HUNCH_FUZZ_EXAMPLES=50000 .venv/bin/python -m pytest tests/contract/test_fuzz.py` runs a long one.
"""

from __future__ import annotations

import json
import os

import pytest_asyncio
from hypothesis import HealthCheck, event, given, seed, settings

from tests.contract.conftest import MakeDiscord
from tests.support.discord_payloads import DiscordClient, check_reply
from tests.support.forms import read_form
from tests.support.fuzzing import MEMBERS, mutated

EXAMPLES = int(os.environ.get("HUNCH_FUZZ_EXAMPLES", "2500"))


@pytest_asyncio.fixture
async def world(make_discord: MakeDiscord) -> DiscordClient:
    """A server with markets to act on and members who hold shares (and a limit no fuzz case reaches)."""
    discord = await make_discord(TRADE_RATE_LIMIT=10**6, GUILD_TRADE_RATE_LIMIT=10**6, MARKET_CREATE_RATE_LIMIT=10**6)
    alice, bob, carol = MEMBERS[:3]
    await discord.create_market(alice, "Will it rain?")
    await discord.create_market(alice, "Which colour?", outcomes="Red, Green, Blue")
    await discord.buy(bob, 1, 0, "100")
    await discord.buy(carol, 2, 2, "50")
    return discord


@seed(20261201)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated())
async def test_no_signed_payload_gets_a_5xx_and_the_books_balance(world: DiscordClient, case: object) -> None:
    body = json.dumps(case, ensure_ascii=False).encode("utf-8", "surrogatepass")
    response = await world.post_body(body)
    assert response.status_code in (200, 400), f"HTTP {response.status_code} for {body[:500]!r}: {response.text}"
    content_type = response.headers["content-type"]
    if response.status_code == 400:
        assert content_type.startswith("application/json")
        assert set(response.json()) == {"error"}
        event("400")
    else:
        # JSON, or a reply with files (a chart) as multipart/form-data, read and checked as Discord reads it
        reply, files = read_form(content_type, response.content)
        assert isinstance(reply, dict) and (files or content_type.startswith("application/json")), content_type
        check_reply(reply)
        assert "went wrong on our side" not in json.dumps(reply), f"an unexpected error for {body[:500]!r}"
        data = reply.get("data") or {}
        done = str(data.get("content", "")).startswith(("✅", "🎁", "💸", "🔒"))
        event(f"{reply['type']}{' ephemeral' if data.get('flags') else ''}{' (a change)' if done else ''}")
    assert await world.ledger_problems() == []


async def test_nesting_deeper_than_any_parser_recurses_is_a_400(world: DiscordClient) -> None:
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b'{"type": 2, "id": "1", "data": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ):
        response = await world.post_body(body)
        assert response.status_code == 400, response.text
