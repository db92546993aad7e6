"""Deferred settlement and notifications, as Discord sees them: a resolution too big for Discord's 3 seconds is
acknowledged at once and finished in `@original` by the worker, exactly and once; a settled market's channel
hears the summary (mentioning exactly its winners when the server asks); a market about to close is
announced. Discord's REST API is the stand-in at `DISCORD_API_BASE_URL` (respx at the boundary)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.rest import DiscordRest
from tests.contract.conftest import MakeDiscord
from tests.support.discord_payloads import (
    GUILD_ID,
    DiscordClient,
    Reply,
    User,
    assert_pings_only_named,
    slash_command,
)
from tests.support.seeding import credited, holdings, market_with_holders
from tests.support.stand_in_discord import BASE_URL, StandInDiscord
from tests.test_worker import Clock

BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GxYzAb.stand-in-bot-token-0123456789abcdefghij"
OTHER_CHANNEL = "1380488052169769999"
DEFERRED_CODE = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE


@pytest.fixture
def stand_in() -> AsyncIterator[StandInDiscord]:
    discord = StandInDiscord()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        discord.install(router)
        yield discord


async def _client(make_discord: MakeDiscord, clock: Clock, **settings: object) -> DiscordClient:
    rest = DiscordRest(BOT_TOKEN, base_url=BASE_URL)
    return await make_discord(
        clock=clock,
        discord_api=DiscordApi(rest),
        DISCORD_API_BASE_URL=BASE_URL,
        DISCORD_BOT_TOKEN=BOT_TOKEN,
        **settings,
    )


async def _in_channel(discord: DiscordClient, user: User, path: str, channel_id: str, **options: object) -> Reply:
    return await discord.send(slash_command(user, path, options, channel_id=channel_id))


async def test_a_resolution_of_five_thousand_holders_is_deferred_and_finished_in_original_exactly_once(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, bob: User
) -> None:
    clock = Clock()
    discord = await _client(make_discord, clock)
    hunch = discord.hunch
    assert hunch is not None
    market = await market_with_holders(hunch.transactions, int(GUILD_ID), range(10_000, 15_000))
    held = await holdings(hunch.transactions, market.id)

    reply = await discord.send(slash_command(admin, "market resolve", {"market": "1", "outcome": "Yes"}))
    assert reply.type == DEFERRED_CODE and not reply.ephemeral  # acknowledged at once, publicly
    assert reply.request is not None
    token = str(reply.request["token"])
    late = await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
    assert late.ephemeral and "closed" in late.content.lower()  # nobody trades on a decision being paid out

    await hunch.worker.drain()
    original = stand_in.original(token)
    assert original is not None
    [summary] = original["embeds"]
    assert summary["title"] == "Market #1 resolved" and "to 2,500 member(s)" in summary["description"]
    expected = {a: h["shares"][0] // 10**6 for a, h in held.items() if h["shares"][0] >= 10**6}
    assert await credited(hunch.transactions, market.id, "payout") == expected
    assert f"**{sum(expected.values()):,} points**" in summary["description"]
    assert await discord.ledger_problems() == []

    # Redelivered (a worker that died after paying, before recording the delivery): nobody is paid twice.
    async def redeliver(uow: object) -> None:
        from app.persistence.unit_of_work import UnitOfWork

        assert isinstance(uow, UnitOfWork)
        rewind = (  # the market's stream back to just before the request, and waiting again
            "UPDATE event_streams SET delivered_sequence = (SELECT sequence - 1 FROM events"
            " WHERE type = 'market.settlement_requested') WHERE aggregate_type = 'market' AND aggregate_id = $1",
            "INSERT INTO event_pending (aggregate_type, aggregate_id, next_attempt_at, attempts)"
            " VALUES ('market', $1, '2000-01-01T00:00:00Z', 0) ON CONFLICT DO NOTHING",
        )
        for statement in rewind:
            await uow.conn.exec_driver_sql(statement, (market.id,))
        await uow.commit()

    await hunch.transactions.run(redeliver)
    await hunch.worker.drain()
    assert await credited(hunch.transactions, market.id, "payout") == expected
    assert [c.method for c in stand_in.calls if c.route.endswith("@original")].count("PATCH") == 2  # same summary
    assert stand_in.original(token)["embeds"] == [summary]  # type: ignore[index]
    assert not stand_in.posts()  # the reply was in the market's channel: no second summary there


async def test_a_market_settled_elsewhere_tells_its_channel_and_mentions_exactly_its_winners(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, alice: User, bob: User, carol: User
) -> None:
    discord = await _client(make_discord, Clock())
    await discord.command(admin, "admin config", mention_winners=True)
    await discord.command(admin, "market create", question="Who wins?")
    await discord.command(alice, "bet", market="1", outcome="Yes", amount=100)
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=40)
    await discord.command(carol, "bet", market="1", outcome="No", amount=100)
    resolved = await _in_channel(discord, admin, "market resolve", OTHER_CHANNEL, market="1", outcome="Yes")
    assert resolved.data["allowed_mentions"] == {"parse": [], "users": [alice.id, bob.id]}

    await discord.hunch.worker.drain()  # type: ignore[union-attr]
    [post] = stand_in.posts()
    assert_pings_only_named(post)
    assert post["allowed_mentions"] == {"parse": [], "users": [alice.id, bob.id]}
    assert post["content"] == f"<@{alice.id}> <@{bob.id}>" and carol.id not in post["content"]
    assert post["embeds"] == resolved.embeds and post["enforce_nonce"] is True
    posted_in = [c.route for c in stand_in.calls if c.method == "POST"]
    assert posted_in == [f"/channels/{discord.sent[0]['channel_id']}/messages"]  # the market's own channel

    await discord.hunch.worker.drain()  # type: ignore[union-attr]
    assert len(stand_in.posts()) == 1


async def test_without_the_setting_the_summary_pings_nobody(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, alice: User
) -> None:
    discord = await _client(make_discord, Clock())
    await discord.command(admin, "market create", question="Quiet?")
    await discord.command(alice, "bet", market="1", outcome="Yes", amount=100)
    await _in_channel(discord, admin, "market cancel", OTHER_CHANNEL, market="1", reason="asked twice")
    await discord.hunch.worker.drain()  # type: ignore[union-attr]
    [post] = stand_in.posts()
    assert post["allowed_mentions"] == {"parse": []} and not post.get("content")
    assert post["embeds"][0]["title"] == "Market #1 cancelled" and "asked twice" in post["embeds"][0]["description"]


async def test_a_market_closing_within_the_hour_is_announced_once_where_the_server_asked(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User
) -> None:
    clock = Clock()
    discord = await _client(make_discord, clock)
    hunch = discord.hunch
    assert hunch is not None
    await discord.command(admin, "market create", question="Soon?", closes_in="2h")
    clock.advance(45 * 60)
    await hunch.use_cases.announce_closing(clock())
    await hunch.worker.drain()
    assert stand_in.posts() == []  # off by default

    await discord.command(admin, "admin config", announce_closing=True)
    for _ in range(3):
        clock.advance(10 * 60)
        await hunch.use_cases.announce_closing(clock())
        await hunch.worker.drain()
    [post] = stand_in.posts()
    assert post["content"].startswith("⏰ Market #1 closes") and post["allowed_mentions"] == {"parse": []}
    assert post["embeds"][0]["title"].startswith("#1 · Soon?")
