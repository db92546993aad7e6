"""`/market chart`, as Discord sees it: signed interactions create and trade a market through the real app, the
worker keeps its price history (Discord's REST API stood in for at the HTTP boundary), and the chart comes
back as a multipart/form-data response: the message as `payload_json`, the PNG as `files[0]`."""

from __future__ import annotations

import io
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
import respx
from PIL import Image

from app.discord.api import DiscordApi
from app.discord.rest import DiscordRest
from handlers.render.style import OUTCOME_COLORS
from tests.contract.conftest import MakeDiscord
from tests.support.discord_payloads import DiscordClient, User, check_reply, slash_command
from tests.support.forms import read_form
from tests.support.stand_in_discord import BASE_URL, StandInDiscord
from tests.test_worker import Clock

BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GxYzAb.stand-in-bot-token-0123456789abcdefghij"
SIZE_LIMIT = 100 * 1024


@pytest.fixture
def stand_in() -> AsyncIterator[StandInDiscord]:
    discord = StandInDiscord()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        discord.install(router)
        yield discord


async def _client(make_discord: MakeDiscord, clock: Clock) -> DiscordClient:
    async def no_wait(seconds: float) -> None:
        clock.advance(seconds)

    rest = DiscordRest(BOT_TOKEN, base_url=BASE_URL, sleep=no_wait, max_retries=0)
    settings = {"DISCORD_API_BASE_URL": BASE_URL, "DISCORD_BOT_TOKEN": BOT_TOKEN, "TRADE_RATE_LIMIT": 1000}
    return await make_discord(clock=clock, discord_api=DiscordApi(rest), **settings)


async def _chart(discord: DiscordClient, user: User, **options: Any) -> tuple[dict[str, Any], bytes, str]:
    """The reply to `/market chart`, which must come as multipart/form-data: payload_json and files[0]."""
    response = await discord.post_body(discord.signer.body(slash_command(user, "market chart", options)))
    assert response.status_code == 200, response.text
    content_type = response.headers["content-type"]
    assert content_type.startswith("multipart/form-data; boundary="), content_type
    payload, files = read_form(content_type, response.content)  # as Discord reads it (attachments checked)
    assert payload is not None and set(files) == {"files[0]"}
    check_reply(payload)  # Discord's schema (when the reference is here) and its limits
    filename, kind, png = files["files[0]"]
    assert filename == "chart.png"
    return payload, png, kind


def _colour_pixels(png: bytes, color: int) -> int:
    rgb = ((color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF)
    image = Image.open(io.BytesIO(png)).convert("RGB").crop((60, 80, 776, 360))
    return sum(1 for p in image.get_flattened_data() if all(abs(a - b) <= 6 for a, b in zip(p, rgb, strict=True)))


async def test_a_traded_market_is_charted_as_a_png_attached_to_a_public_reply(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User, carol: User
) -> None:
    clock = Clock()
    discord = await _client(make_discord, clock)
    await discord.command(alice, "market create", question="Which colour wins?", outcomes="Red, Green, Blue")
    for n in range(12):
        clock.advance(600)
        member = bob if n % 2 else carol
        await discord.command(member, "bet", market="1", outcome=("Red", "Green", "Blue")[n % 3], amount=20 + 15 * n)
    await discord.hunch.worker.drain()  # type: ignore[union-attr]
    clock.advance(60)

    payload, png, kind = await _chart(discord, alice, market="1", period="1d")

    assert payload["type"] == 4
    data = payload["data"]
    assert not data.get("flags")  # public
    assert data["allowed_mentions"] == {"parse": []}
    [embed] = data["embeds"]
    assert embed["image"]["url"] == "attachment://chart.png"
    assert embed["title"] == "#1 · Which colour wins?"
    assert data["attachments"] == [{"id": "0", "filename": "chart.png", "description": "Price chart of market #1"}]
    assert kind == "image/png"
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">4sII", png[12:24]) == (b"IHDR", 800, 400)
    assert len(png) < SIZE_LIMIT
    for index in range(3):  # a line per outcome, in its colour
        assert _colour_pixels(png, OUTCOME_COLORS[index]) > 50


async def test_a_settled_market_can_be_charted_and_is_offered_by_autocomplete(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = Clock()
    discord = await _client(make_discord, clock)
    await discord.command(alice, "market create", question="Will it snow?")
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    await discord.command(alice, "market resolve", market="1", outcome="Yes")
    await discord.hunch.worker.drain()  # type: ignore[union-attr]

    offered = await discord.autocomplete(alice, "market chart", "market", market="snow")
    assert [c["value"] for c in offered.choices] == ["1"]
    payload, png, _ = await _chart(discord, alice, market="1")  # no period: all time
    assert payload["data"]["embeds"][0]["description"].startswith("All time")
    assert struct.unpack(">4sII", png[12:24]) == (b"IHDR", 800, 400)


async def test_a_chart_of_no_such_market_is_an_ephemeral_json_error(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User
) -> None:
    discord = await _client(make_discord, Clock())
    reply = await discord.command(alice, "market chart", market="#99")
    assert reply.ephemeral
    assert "files" not in reply.body
