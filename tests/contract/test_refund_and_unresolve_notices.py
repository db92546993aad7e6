"""What a market's channel hears from the worker about stale refunds and unresolved markets, as Discord sees
it: the creator reminded a day before (pinged, and nobody else), the refund's summary, and the notice of a
market unresolved from another channel (pinging nobody)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.rest import DiscordRest
from tests.contract.conftest import MakeDiscord
from tests.contract.test_settlement_notices import BOT_TOKEN, OTHER_CHANNEL
from tests.support.discord_payloads import DiscordClient, User, assert_pings_only_named, slash_command
from tests.support.stand_in_discord import BASE_URL, StandInDiscord
from tests.test_worker import Clock

DAY = 86400
DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE


@pytest.fixture
def stand_in() -> AsyncIterator[StandInDiscord]:
    discord = StandInDiscord()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        discord.install(router)
        yield discord


async def _client(make_discord: MakeDiscord, clock: Clock) -> DiscordClient:
    api = DiscordApi(DiscordRest(BOT_TOKEN, base_url=BASE_URL))
    return await make_discord(clock=clock, discord_api=api, DISCORD_API_BASE_URL=BASE_URL, DISCORD_BOT_TOKEN=BOT_TOKEN)


async def _pass(discord: DiscordClient, clock: Clock) -> tuple[list[tuple[int, int]], int]:
    hunch = discord.hunch
    assert hunch is not None
    refunded = await hunch.use_cases.refund_stale_markets(clock())
    reminded = await hunch.use_cases.remind_refunds(clock())
    await hunch.worker.drain()
    return refunded, reminded


async def test_a_stale_market_reminds_its_creator_then_refunds_every_stake(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User, carol: User
) -> None:
    clock = Clock()
    discord = await _client(make_discord, clock)
    hunch = discord.hunch
    assert hunch is not None
    await discord.command(alice, "market create", question="Forgotten?", closes_in="1h")
    bob_start, carol_start = await discord.balance(bob), await discord.balance(carol)
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=120)
    await discord.command(carol, "bet", market="1", outcome="No", amount=80)
    clock.advance(3600 + 60)
    await hunch.use_cases.close_expired_markets(clock())
    await hunch.worker.drain()

    clock.advance(12 * DAY)
    assert await _pass(discord, clock) == ([], 0)
    clock.advance(DAY + 3600)
    assert (await _pass(discord, clock))[1] == 1
    [reminder] = [p for p in stand_in.posts() if p.get("content", "").startswith("⏳")]
    assert reminder["content"].startswith(f"⏳ <@{alice.id}>, market #1 is closed and unresolved")
    assert reminder["allowed_mentions"] == {"parse": [], "users": [alice.id]}  # the creator, and nobody else
    assert_pings_only_named(reminder)
    assert await _pass(discord, clock) == ([], 0)  # once

    clock.advance(DAY)
    refunded, _ = await _pass(discord, clock)
    assert len(refunded) == 1
    summary = stand_in.posts()[-1]
    assert summary["embeds"][0]["title"] == "Market #1 cancelled"
    assert "Nobody resolved it within 14 days of its close." in summary["embeds"][0]["description"]
    assert "Refunded **200 points** to 2 member(s)." in summary["embeds"][0]["description"]
    assert summary["allowed_mentions"] == {"parse": []}
    assert (await discord.balance(bob), await discord.balance(carol)) == (bob_start, carol_start)
    assert await discord.ledger_problems() == []


async def test_a_market_unresolved_from_another_channel_tells_its_own(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, alice: User
) -> None:
    discord = await _client(make_discord, Clock())
    await discord.command(admin, "market create", question="Who wins?")
    await discord.command(alice, "bet", market="1", outcome="Yes", amount=100)
    await discord.command(admin, "market resolve", market="1", outcome="Yes")  # in the market's channel
    elsewhere = slash_command(
        admin, "market unresolve", {"market": "1", "reason": "appeal upheld"}, channel_id=OTHER_CHANNEL
    )
    await discord.send(elsewhere)
    await discord.hunch.worker.drain()  # type: ignore[union-attr]
    [post] = stand_in.posts()
    assert "**Market #1 unresolved**" in post["content"] and "Reason: appeal upheld" in post["content"]
    assert post["allowed_mentions"] == {"parse": []}
    assert post["embeds"][0]["title"].startswith("#1 · Who wins?")
    assert await discord.ledger_problems() == []


async def test_unresolving_a_market_of_many_holders_is_deferred_and_finished_in_original(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, alice: User, bob: User, carol: User
) -> None:
    api = DiscordApi(DiscordRest(BOT_TOKEN, base_url=BASE_URL))
    discord = await make_discord(
        clock=Clock(),
        discord_api=api,
        DISCORD_API_BASE_URL=BASE_URL,
        DISCORD_BOT_TOKEN=BOT_TOKEN,
        DEFERRED_SETTLEMENT_HOLDERS=2,
    )
    hunch = discord.hunch
    assert hunch is not None
    await discord.command(admin, "market create", question="Big?")
    await discord.command(alice, "bet", market="1", outcome="Yes", amount=100)
    await discord.command(bob, "bet", market="1", outcome="No", amount=60)
    before = {u.id: await discord.balance(u) for u in (alice, bob)}
    resolved = await discord.send(slash_command(admin, "market resolve", {"market": "1", "outcome": "Yes"}))
    assert resolved.type == DEFERRED
    await hunch.worker.drain()

    undo = await discord.send(slash_command(admin, "market unresolve", {"market": "1", "reason": "too early"}))
    assert undo.type == DEFERRED and not undo.ephemeral  # acknowledged at once, publicly
    assert undo.request is not None
    await hunch.worker.drain()
    original = stand_in.original(str(undo.request["token"]))
    assert original is not None
    assert "**Market #1 unresolved**: its resolution (Yes) was undone." in original["content"]
    assert "Reason: too early" in original["content"] and original["allowed_mentions"] == {"parse": []}
    # Closed only because its resolution was asked for, the market trades again.
    assert "Trading is open again." in original["content"]
    assert "Closes <t:" in (await discord.command(bob, "market show", market="1")).field("Status")
    assert {u.id: await discord.balance(u) for u in (alice, bob)} == before
    refused = await discord.send(slash_command(carol, "market unresolve", {"market": "1"}))
    assert refused.ephemeral and "not resolved or cancelled" in refused.content
    assert await discord.ledger_problems() == []


async def test_a_creators_deferred_unresolve_asked_in_the_window_is_done_though_the_worker_comes_after_it(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User, carol: User
) -> None:
    clock = Clock()
    api = DiscordApi(DiscordRest(BOT_TOKEN, base_url=BASE_URL))
    discord = await make_discord(
        clock=clock,
        discord_api=api,
        DISCORD_API_BASE_URL=BASE_URL,
        DISCORD_BOT_TOKEN=BOT_TOKEN,
        DEFERRED_SETTLEMENT_HOLDERS=2,
    )
    hunch = discord.hunch
    assert hunch is not None
    await discord.command(alice, "market create", question="Late?")
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=100)
    await discord.command(carol, "bet", market="1", outcome="No", amount=60)
    before = {u.id: await discord.balance(u) for u in (bob, carol)}
    await discord.send(slash_command(alice, "market resolve", {"market": "1", "outcome": "Yes"}))
    await hunch.worker.drain()

    clock.advance(9 * 60 + 59)  # the creator asks at 9:59 of the 10 minutes: acknowledged
    undo = await discord.send(slash_command(alice, "market unresolve", {"market": "1", "reason": "oops"}))
    assert undo.type == DEFERRED and undo.request is not None
    clock.advance(5 * 60)  # and the worker only gets to it after the window
    await hunch.worker.drain()

    original = stand_in.original(str(undo.request["token"]))
    assert original is not None
    assert "**Market #1 unresolved**: its resolution (Yes) was undone." in original["content"]
    assert {u.id: await discord.balance(u) for u in (bob, carol)} == before
    assert await discord.ledger_problems() == []
