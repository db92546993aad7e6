"""`/stats`, `/leaderboard by:` and `season:`, and `/admin season start`, through the real ASGI app with signed
Discord payloads (each reply is checked against Discord's schema and for pings by the client)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.rest import DiscordRest
from app.domain import limits
from tests.contract.conftest import MakeDiscord
from tests.support.discord_payloads import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    GUILD_ID,
    DiscordClient,
    Reply,
    User,
    slash_command,
)
from tests.support.stand_in_discord import BASE_URL, StandInDiscord
from tests.test_worker import Clock

BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GxYzAb.stand-in-bot-token-0123456789abcdefghij"
DEFERRED_CODE = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE

BRIER = re.compile(r"Brier score: \*\*([0-9]\.[0-9]{3})\*\* over 1 resolved market")


def assert_refused(reply: Reply, fragment: str) -> None:
    assert reply.type == CHANNEL_MESSAGE and reply.ephemeral, reply.body
    assert fragment.lower() in reply.content.lower(), reply.content


async def _resolved_market(discord: DiscordClient, admin: User, bob: User, carol: User, question: str) -> int:
    number = await discord.create_market(admin, question)
    await discord.command(bob, "bet", market=str(number), outcome="Yes", amount=100)
    await discord.command(carol, "bet", market=str(number), outcome="No", amount=100)
    await discord.command(admin, "market resolve", market=str(number), outcome="Yes")
    return number


async def test_stats_before_and_after_a_resolution(
    discord: DiscordClient, admin: User, alice: User, bob: User, carol: User
) -> None:
    empty = await discord.command(bob, "stats")
    assert empty.ephemeral and empty.embed["title"] == "Your forecasting record"
    assert "Markets traded: **0**" in empty.embed["description"]
    assert "no resolved market to score yet" in empty.embed["description"]

    await _resolved_market(discord, admin, bob, carol, "Will it rain?")
    own = await discord.command(bob, "stats")
    text = own.embed["description"]
    assert own.ephemeral
    assert "Markets traded: **1**" in text and "Resolved markets: **1** · won **1**" in text
    profit = await discord.balance(bob) - 1000
    assert profit > 0 and f"Realised profit: **+{profit:,} points** · ROI **+{profit:.1f}%**" in text
    match = BRIER.search(text)
    assert match and 0 < float(match.group(1)) < 0.5, text  # Bob's Yes was the favourite after his trade
    assert f"Ranked by accuracy from {limits.ACCURACY_MIN_MARKETS} resolved markets." in text

    theirs = await discord.command(alice, "stats", user=carol)
    assert theirs.ephemeral and theirs.embed["title"] == "Forecasting record"
    assert carol.mention in theirs.embed["description"]
    assert "Realised profit: **-100 points** · ROI **-100.0%**" in theirs.embed["description"]


async def test_leaderboard_by_profit_and_by_accuracy(
    discord: DiscordClient, admin: User, bob: User, carol: User
) -> None:
    nobody = await discord.command(bob, "leaderboard", by="accuracy")
    assert not nobody.ephemeral and f"over {limits.ACCURACY_MIN_MARKETS} resolved markets" in nobody.content
    for n in range(limits.ACCURACY_MIN_MARKETS):
        await _resolved_market(discord, admin, bob, carol, f"Question {n}?")

    by_profit = await discord.command(carol, "leaderboard", by="profit")
    assert not by_profit.ephemeral and by_profit.embed["title"] == "Leaderboard by realised profit"
    lines = by_profit.embed["description"].splitlines()
    gained = await discord.balance(bob) - 1000
    assert lines == [f"🥇 {bob.mention}: **+{gained:,} points**", f"🥈 {carol.mention}: **-500 points**"]

    by_accuracy = await discord.command(carol, "leaderboard", by="accuracy")
    assert by_accuracy.embed["title"] == "Leaderboard by accuracy"
    lines = by_accuracy.embed["description"].splitlines()
    assert [line.split(":")[0] for line in lines] == [f"🥇 {bob.mention}", f"🥈 {carol.mention}"]
    scores = [float(s) for s in re.findall(r"Brier \*\*([0-9]\.[0-9]{3})\*\* over 5 markets", "\n".join(lines))]
    assert len(scores) == 2 and scores[0] < scores[1]

    balance = await discord.command(carol, "leaderboard", by="balance")
    assert balance.embed["title"] == "Leaderboard"
    assert_refused(await discord.command(carol, "leaderboard", by="luck"), "balance, profit or accuracy")


async def test_a_season_start_resets_balances_and_keeps_the_standings(
    discord: DiscordClient, admin: User, alice: User, bob: User, carol: User
) -> None:
    await discord.command(alice, "give", user=bob, amount=300)
    await discord.create_market(alice, "Carried over?")
    await discord.command(carol, "bet", market="1", outcome="Yes", amount=200)

    assert_refused(await discord.command(bob, "admin season start"), "Manage Server")
    assert await discord.balance(bob) == 1300

    started = await discord.command(admin, "admin season start", name="Winter Cup")
    assert started.type == CHANNEL_MESSAGE and not started.ephemeral
    assert started.embed["title"] == "Winter Cup begins"
    text = started.embed["description"]
    assert text.startswith("🏁 **Season 1** is over. Final standings:\n")
    assert f"🥇 {bob.mention}: **1,300 points**" in text and f"🥈 {carol.mention}: **800 points**" in text
    assert "🚀 **Winter Cup** starts now: 3 member balance(s) are back to **1,000 points**." in text
    assert "Open positions carry over." in text
    for user in (alice, bob, carol):
        assert await discord.balance(user) == 1000
    assert await discord.ledger_problems() == []
    portfolio = await discord.command(carol, "portfolio")
    assert "**#1** Carried over? · **Yes**" in portfolio.embed["description"]

    assert_refused(await discord.command(admin, "admin season start", name="winter cup"), "already has a season")
    choices = await discord.autocomplete(alice, "leaderboard", "season", season="sea")
    assert choices.type == AUTOCOMPLETE_RESULT and choices.choices == [{"name": "Season 1", "value": "Season 1"}]

    past = await discord.command(alice, "leaderboard", season="Season 1")
    assert not past.ephemeral and past.embed["title"] == "Season 1: final standings"
    lines = past.embed["description"].splitlines()
    assert lines[1:] == [
        f"🥇 {bob.mention}: **1,300 points**",
        f"🥈 {carol.mention}: **800 points**",
        f"🥉 {alice.mention}: **700 points**",
    ]
    assert_refused(await discord.command(alice, "leaderboard", season="Winter Cup"), "No finished season")
    assert_refused(await discord.command(alice, "leaderboard", season="Season 1", by="profit"), "by balance")

    second = await discord.command(admin, "admin season start")
    assert second.embed["title"] == "Season 3 begins"
    assert "🏁 **Winter Cup** is over." in second.embed["description"]


async def _redeliver_the_season_start(uow: object) -> None:
    """Deliver the server's `guild.season_start_requested` event again, as `events retry` does a dead one."""
    from app.persistence.unit_of_work import UnitOfWork

    assert isinstance(uow, UnitOfWork)
    rewind = (
        "UPDATE event_streams SET delivered_sequence = (SELECT sequence - 1 FROM events"
        " WHERE type = 'guild.season_start_requested') WHERE aggregate_type = 'guild' AND aggregate_id = $1",
        "INSERT INTO event_pending (aggregate_type, aggregate_id, next_attempt_at, attempts)"
        " VALUES ('guild', $1, '2000-01-01T00:00:00Z', 0) ON CONFLICT DO NOTHING",
    )
    for statement in rewind:
        await uow.conn.exec_driver_sql(statement, (int(GUILD_ID),))
    await uow.commit()


@pytest.fixture
def stand_in() -> Iterator[StandInDiscord]:
    discord = StandInDiscord()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        discord.install(router)
        yield discord


async def test_a_big_servers_season_start_is_deferred_and_done_once_by_the_worker(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, alice: User, bob: User, carol: User
) -> None:
    discord = await make_discord(
        clock=Clock(),
        discord_api=DiscordApi(DiscordRest(BOT_TOKEN, base_url=BASE_URL)),
        DISCORD_API_BASE_URL=BASE_URL,
        DISCORD_BOT_TOKEN=BOT_TOKEN,
        DEFERRED_SETTLEMENT_HOLDERS="3",
    )
    hunch = discord.hunch
    assert hunch is not None
    await discord.command(alice, "give", user=bob, amount=300)
    await discord.command(carol, "daily")

    reply = await discord.send(slash_command(admin, "admin season start", {"name": "Spring"}))
    assert reply.type == DEFERRED_CODE and not reply.ephemeral  # acknowledged at once, publicly
    assert await discord.balance(bob) == 1300  # nothing reset yet
    assert reply.request is not None
    token = str(reply.request["token"])

    await hunch.worker.drain()
    original = stand_in.original(token)
    assert original is not None
    [summary] = original["embeds"]
    assert summary["title"] == "Spring begins"
    assert f"🥇 {bob.mention}: **1,300 points**" in summary["description"]
    assert original["allowed_mentions"] == {"parse": []}
    for user in (alice, bob, carol):
        assert await discord.balance(user) == 1000
    assert await discord.ledger_problems() == []

    # Redelivered (a worker that died after resetting, before recording the delivery): nobody is reset twice.
    await discord.command(bob, "give", user=alice, amount=100)
    await hunch.transactions.run(_redeliver_the_season_start)
    await hunch.worker.drain()
    assert (await discord.balance(alice), await discord.balance(bob)) == (1100, 900)
    assert stand_in.original(token)["embeds"] == [summary]  # type: ignore[index]
    assert await discord.ledger_problems() == []


async def test_a_deferred_season_start_retried_after_the_records_are_purged_resets_nobody_twice(
    make_discord: MakeDiscord, stand_in: StandInDiscord, admin: User, alice: User, bob: User
) -> None:
    clock = Clock()
    discord = await make_discord(
        clock=clock,
        discord_api=DiscordApi(DiscordRest(BOT_TOKEN, base_url=BASE_URL)),
        DISCORD_API_BASE_URL=BASE_URL,
        DISCORD_BOT_TOKEN=BOT_TOKEN,
        DEFERRED_SETTLEMENT_HOLDERS="2",
    )
    hunch = discord.hunch
    assert hunch is not None
    await discord.command(alice, "give", user=bob, amount=300)
    reply = await discord.send(slash_command(admin, "admin season start", {}))  # no name: nothing else refuses it
    assert reply.type == DEFERRED_CODE
    await hunch.worker.drain()
    assert (await discord.balance(alice), await discord.balance(bob)) == (1000, 1000)
    await discord.command(bob, "give", user=alice, amount=100)

    # A day later the scheduler forgets the interactions' records, then an operator retries the event.
    clock.advance(2 * 86400)
    assert await hunch.use_cases.forget_interactions(clock() - timedelta(hours=24), 1000) > 0
    await hunch.transactions.run(_redeliver_the_season_start)
    await hunch.worker.drain()
    assert (await discord.balance(alice), await discord.balance(bob)) == (1100, 900)
    seasons = await discord.autocomplete(alice, "leaderboard", "season", season="sea")
    assert seasons.choices == [{"name": "Season 1", "value": "Season 1"}]  # Season 2 is still the one in play
    assert await discord.ledger_problems() == []
