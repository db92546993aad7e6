"""Live market messages, as Discord sees them: signed interactions post a market and trade on it through the
real app, and the worker edits the market's message on a stand-in for Discord's REST API (respx at the HTTP
boundary, at `DISCORD_API_BASE_URL`): coalesced edits, the latest state, rate limits and an outage."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import respx

from app.discord.api import DiscordApi
from app.discord.breaker import BreakerState, CircuitBreaker
from app.discord.rest import DiscordRest
from tests.contract.conftest import MakeDiscord
from tests.support.discord_payloads import DiscordClient, Reply, User
from tests.support.stand_in_discord import BASE_URL, StandInDiscord, rate_limited
from tests.test_worker import Clock

BOT_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMA.GxYzAb.stand-in-bot-token-0123456789abcdefghij"
MEMBERS = [User(str(800000000000000000 + n), f"trader{n}", f"Trader {n}") for n in range(20)]
FAST = {"TRADE_RATE_LIMIT": 1000, "GUILD_TRADE_RATE_LIMIT": 10_000, "LIVE_UPDATE_INTERVAL_SECONDS": 3}


@pytest.fixture
def stand_in() -> AsyncIterator[StandInDiscord]:
    discord = StandInDiscord()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        discord.install(router)
        yield discord


class SharedTime(Clock):
    """One fake time for the app, the worker and the REST client: its rate limits, breaker and sleeps."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


async def _client(
    make_discord: MakeDiscord, clock: SharedTime, *, bot: bool = True, breaker: CircuitBreaker | None = None
) -> DiscordClient:
    rest = DiscordRest(
        BOT_TOKEN if bot else None,
        base_url=BASE_URL,
        sleep=clock.sleep,
        clock=clock.monotonic,
        breaker=breaker or CircuitBreaker(clock=clock.monotonic),
        max_retries=2,
    )
    settings = {**FAST, "DISCORD_API_BASE_URL": BASE_URL, **({"DISCORD_BOT_TOKEN": BOT_TOKEN} if bot else {})}
    return await make_discord(clock=clock, discord_api=DiscordApi(rest), **settings)


def _token(reply: Reply) -> str:
    assert reply.request is not None
    return str(reply.request["token"])


async def test_two_hundred_trades_in_ten_seconds_make_a_handful_of_edits_ending_on_the_final_prices(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User
) -> None:
    clock = SharedTime()
    discord = await _client(make_discord, clock)
    created = await discord.command(alice, "market create", question="Will it ship on Friday?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()  # learns the message's id from @original
    message_id = stand_in.originals[_token(created)]

    for n in range(200):  # 200 trades over 10 seconds, the worker draining as it goes
        member = MEMBERS[n % len(MEMBERS)]
        await discord.command(member, "bet", market="1", outcome="Yes" if n % 3 else "No", amount=5 + n % 4)
        clock.advance(0.05)
        if n % 4 == 3:
            await worker.drain()
    clock.advance(LIVE_INTERVAL := 3.0)
    await worker.drain()

    edits = stand_in.edits(message_id)
    assert 3 <= len(edits) <= 10 / LIVE_INTERVAL + 2, [e.route for e in edits]
    assert all(e.route.startswith("/channels/") and e.authorization == f"Bot {BOT_TOKEN}" for e in edits)
    shown = await discord.command(alice, "market show", market="1")
    final = edits[-1].body or {}
    [drawn] = final["embeds"]
    assert drawn.pop("image") == {"url": "attachment://chart.png"}  # the message shows its chart
    assert [drawn] == shown.embeds  # the latest state, as /market show draws it
    assert final["attachments"] == [{"id": "0", "filename": "chart.png", "description": "Price chart of market #1"}]
    filename, content_type, png = edits[-1].files["files[0]"]
    assert (filename, content_type, png[:8]) == ("chart.png", "image/png", b"\x89PNG\r\n\x1a\n")
    assert shown.field("Trades") == "200"
    assert final["allowed_mentions"] == {"parse": []}
    await worker.drain()
    assert len(stand_in.edits(message_id)) == len(edits)  # up to date: nothing more to draw


async def test_without_a_bot_token_the_message_is_edited_through_the_interaction_token(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = SharedTime()
    discord = await _client(make_discord, clock, bot=False)
    created = await discord.command(alice, "market create", question="Rain tomorrow?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    await worker.drain()
    [edit] = stand_in.edits()
    assert edit.route.endswith("/{token}/messages/@original") and edit.authorization is None
    assert stand_in.original(_token(created))["embeds"][0]["fields"][1]["value"] == "1"  # type: ignore[index]

    clock.advance(16 * 60)  # the token has expired: with no bot either, the message can no longer be reached
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    await worker.drain()
    assert len(stand_in.edits()) == 1


async def test_closing_and_resolving_redraw_the_message_and_its_trading_buttons_go(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = SharedTime()
    discord = await _client(make_discord, clock)
    created = await discord.command(alice, "market create", question="Ship it?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    message_id = stand_in.originals[_token(created)]
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    await discord.command(alice, "market close", market="1")
    clock.advance(3)
    await worker.drain()
    closed = stand_in.messages[message_id]
    assert [b["label"] for row in closed["components"] for b in row["components"]] == ["Refresh"]
    assert "Closed to trading" in closed["embeds"][0]["fields"][2]["value"]

    await discord.command(alice, "market resolve", market="1", outcome="Yes")
    clock.advance(3)
    await worker.drain()
    resolved = stand_in.messages[message_id]
    assert resolved["components"] == [] and resolved["embeds"][0]["fields"][2]["value"] == "Resolved: Yes"


async def test_a_click_on_the_message_redraws_it_in_place_with_fresh_prices(
    discord: DiscordClient, alice: User, bob: User
) -> None:
    created = await discord.command(alice, "market create", question="Fresh?")
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=200)
    refreshed = await discord.click(bob, "refresh:1", on=created)
    assert refreshed.type == 7  # UPDATE_MESSAGE: the clicked message itself shows the new prices
    assert refreshed.field("Trades") == "1" and refreshed.embed["description"] != created.embed["description"]
    assert refreshed.embed["image"] == {"url": "attachment://chart.png"}  # with the chart, as a file of its own
    assert refreshed.files["files[0]"][:2] == ("chart.png", "image/png")


async def test_a_429_is_waited_out_and_the_edit_lands(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = SharedTime()
    discord = await _client(make_discord, clock)
    created = await discord.command(alice, "market create", question="Limited?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    stand_in.fail_next(rate_limited(0.2))
    await worker.drain()
    message_id = stand_in.originals[_token(created)]
    assert [c.status for c in stand_in.calls if c.method == "PATCH"] == [429, 200]
    assert stand_in.messages[message_id]["embeds"][0]["fields"][1]["value"] == "1"
    assert clock.sleeps == [pytest.approx(0.2)]  # it waited the retry_after Discord asked for before trying again


async def test_a_long_rate_limit_holds_the_message_back_instead_of_hammering(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = SharedTime()
    discord = await _client(make_discord, clock)
    await discord.command(alice, "market create", question="Very limited?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    stand_in.fail_next(rate_limited(120.0))
    await worker.drain()
    for _ in range(5):
        clock.advance(3)
        await worker.drain()
    assert [c.status for c in stand_in.calls if c.method == "PATCH"] == [429]  # held for the two minutes
    clock.advance(120)
    await worker.drain()
    assert [c.status for c in stand_in.calls if c.method == "PATCH"] == [429, 200]


async def test_edits_of_old_messages_back_off_for_an_hour_and_a_deleted_message_is_left_alone(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    import httpx

    clock = SharedTime()
    discord = await _client(make_discord, clock)
    created = await discord.command(alice, "market create", question="Old?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    old = {"message": "Maximum number of edits to messages older than 1 hour reached.", "code": 30046}
    stand_in.fail_next(httpx.Response(400, json=old))
    await worker.drain()
    clock.advance(30 * 60)
    await worker.drain()
    assert [c.status for c in stand_in.calls if c.method == "PATCH"] == [400]
    clock.advance(31 * 60)
    await worker.drain()
    assert [c.status for c in stand_in.calls if c.method == "PATCH"] == [400, 200]

    del stand_in.messages[stand_in.originals[_token(created)]]  # someone deleted the message
    for _ in range(3):
        await discord.command(bob, "bet", market="1", outcome="No", amount=10)
        clock.advance(3)
        await worker.drain()
    assert [c.status for c in stand_in.calls if c.method == "PATCH"] == [400, 200, 404]  # once, then never again


async def test_an_outage_opens_the_breaker_and_interactions_never_wait_for_discord(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = SharedTime()
    breaker = CircuitBreaker(threshold=3, cooldown=15, clock=clock.monotonic)
    discord = await _client(make_discord, clock, breaker=breaker)
    await discord.command(alice, "market create", question="Outage?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    stand_in.down = True
    for _ in range(3):  # each failed redraw holds the message back a while before the next try
        await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
        clock.advance(31)
        await worker.drain()
    assert breaker.state is BreakerState.OPEN
    assert len([c for c in stand_in.calls if c.status == 0]) == 3 * 3  # three tries of three attempts each
    ready = await discord.http.get("/readyz")
    # Interactions never call Discord's REST API: an open breaker is a warning, not unreadiness.
    assert ready.status_code == 200 and ready.json()["status"] == "warn"
    assert ready.json()["checks"]["discord-api:breaker"][0] == ready.json()["checks"]["discord-api:breaker"][0] | {
        "observedValue": "open",
        "status": "warn",
    }

    with respx.mock(assert_all_called=False) as untouched:  # any call to Discord now would fail the test
        reply = await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
        assert not untouched.calls
    assert "Bought" in reply.content  # answered in full, Discord's API down or not
    assert await discord.ledger_problems() == []

    refused = len(stand_in.calls)
    for _ in range(3):  # open: the worker's attempts are refused here, without a request
        await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
        clock.advance(4)
        await worker.drain()
    assert len(stand_in.calls) == refused

    stand_in.down = False
    clock.advance(60)  # the breaker's cooldown has passed: one probe goes, and closes it
    await worker.drain()
    assert breaker.state is BreakerState.CLOSED
    assert stand_in.edits(), "once Discord is back the message catches up"


async def test_a_channel_where_the_bot_may_not_attach_files_still_sees_its_prices_move_without_the_chart(
    make_discord: MakeDiscord, stand_in: StandInDiscord, alice: User, bob: User
) -> None:
    clock = SharedTime()
    discord = await _client(make_discord, clock)
    created = await discord.command(alice, "market create", question="Charted?")
    worker = discord.hunch.worker  # type: ignore[union-attr]
    await worker.drain()
    message_id = stand_in.originals[_token(created)]
    stand_in.no_attach_files.add(stand_in.channel_id)  # Attach Files denied in the market's channel
    clock.advance(16 * 60)  # the interaction's token has expired: only the bot can edit the message now

    def patches() -> list[tuple[int, bool]]:
        return [(c.status, bool(c.files)) for c in stand_in.calls if c.method == "PATCH"]

    await discord.command(bob, "bet", market="1", outcome="Yes", amount=50)
    await worker.drain()
    assert patches() == [(403, True), (200, False)]  # the same edit again, without the chart
    drawn = stand_in.messages[message_id]
    assert drawn["embeds"][0]["fields"][1]["value"] == "1" and "image" not in drawn["embeds"][0]
    assert drawn["attachments"] == []

    await discord.command(bob, "bet", market="1", outcome="No", amount=20)
    clock.advance(3)
    await worker.drain()
    assert patches()[2:] == [(200, False)]  # remembered: no upload tried, no refusal
    assert stand_in.messages[message_id]["embeds"][0]["fields"][1]["value"] == "2"

    stand_in.no_attach_files.clear()  # the permission is granted; an hour later the chart is tried again
    clock.advance(3600)
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
    await worker.drain()
    assert patches()[3:] == [(200, True)]
    assert stand_in.messages[message_id]["embeds"][0]["image"] == {"url": "attachment://chart.png"}
