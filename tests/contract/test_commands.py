"""Every command, button, modal and autocomplete, through the real ASGI app with signed Discord payloads.

Each reply is checked by the client (HTTP 200, Discord's schema and limits, no pings); these tests check what
members see: public or ephemeral, the numbers, and that refused requests change nothing.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal
from typing import Any

import pytest

from tests.support.discord_payloads import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    MODAL,
    UPDATE_MESSAGE,
    DiscordClient,
    Reply,
    User,
    interaction,
    market_number,
    slash_command,
)

ROLE_ID = "1336784655155986432"
TIMESTAMP = re.compile(r"<t:([0-9]+):R>")
PERCENT = re.compile(r"\*\*([0-9]+\.[0-9])%\*\*")
BAR = re.compile(r"`[█░]{12}`")


def relative_time(text: str) -> int:
    match = TIMESTAMP.search(text)
    assert match, f"no <t:…:R> in {text!r}"
    return int(match.group(1))


def held(receipt: Reply) -> Decimal:
    """What a trade receipt says the member now holds (`You hold N shares of …`)."""
    match = re.search(r"You hold ([0-9,]+\.[0-9]{2}) shares", receipt.content)
    assert match, receipt.content
    return Decimal(match.group(1).replace(",", ""))


def paid(receipt: Reply) -> int:
    match = re.search(r"for \*\*([0-9,]+) points?\*\*", receipt.content)
    assert match, receipt.content
    return int(match.group(1).replace(",", ""))


def assert_refused(reply: Reply, *fragments: str) -> None:
    assert reply.type == CHANNEL_MESSAGE
    assert reply.ephemeral, f"an error must be ephemeral: {reply.body}"
    for fragment in fragments:
        assert fragment.lower() in reply.content.lower(), f"{fragment!r} not in {reply.content!r}"


# --- /market create ----------------------------------------------------------------------------------------------


async def test_market_create_posts_a_public_market_message(discord: DiscordClient, alice: User) -> None:
    before = int(time.time())
    reply = await discord.command(alice, "market create", question="Will it rain on Friday?", outcomes="Yes, No")

    assert reply.type == CHANNEL_MESSAGE
    assert not reply.ephemeral and "flags" not in reply.data
    embed = reply.embed
    assert embed["title"] == "#1 · Will it rain on Friday?"
    lines = embed["description"].splitlines()
    assert len(lines) == 2
    for line, label in zip(lines, ["Yes", "No"], strict=True):
        assert BAR.search(line), line
        assert "**50.0%**" in line and line.endswith(label)
    assert reply.field("Volume") == "0 points"
    closes = relative_time(reply.field("Status"))
    assert before + 7 * 86400 - 5 <= closes <= int(time.time()) + 7 * 86400 + 5  # the default duration: a week
    assert reply.field("Creator") == alice.mention
    assert "Market #1" in embed["footer"]["text"]

    rows = reply.components
    assert [b["custom_id"] for b in rows[0]["components"]] == ["buy:1:0", "buy:1:1"]
    assert [b["label"] for b in rows[0]["components"]] == ["Buy Yes", "Buy No"]
    assert [b["label"] for b in rows[-1]["components"]] == ["Sell", "Refresh"]
    assert not any(b.get("disabled") for b in reply.buttons)


async def test_market_create_with_every_option(discord: DiscordClient, alice: User) -> None:
    before = int(time.time())
    reply = await discord.command(
        alice,
        "market create",
        question="Who wins the cup?",
        outcomes="Red, Blue, Green",
        closes_in="2h",
        liquidity=500,
        description="Resolves on the final whistle.\nExtra time counts.",
    )
    assert not reply.ephemeral
    assert reply.embed["description"].startswith("Resolves on the final whistle.\nExtra time counts.\n\n")
    assert reply.embed["description"].count("**33.3%**") == 3
    assert before + 7200 - 5 <= relative_time(reply.field("Status")) <= int(time.time()) + 7200 + 5
    assert [b["label"] for b in reply.buttons] == ["Buy Red", "Buy Blue", "Buy Green", "Sell", "Refresh"]
    second = await discord.command(alice, "market create", question="Another one?")
    assert market_number(second) == 2
    assert "Yes" in second.embed["description"] and "No" in second.embed["description"]


async def test_market_create_refuses_bad_options(discord: DiscordClient, alice: User) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"closes_in": "soon"}, "duration"),
        ({"closes_in": "400d"}, "365 days"),
        ({"liquidity": 5}, "liquidity"),
        ({"outcomes": "Only one"}, "at least 2"),
        ({"outcomes": "A,B,C,D,E,F,G,H,I,J,K"}, "at most 10"),
        ({"outcomes": "Yes,,No"}, "empty"),
        ({"outcomes": "Yes, yes"}, "more than once"),
    ]
    for options, fragment in cases:
        reply = await discord.command(alice, "market create", question="Will it work?", **options)
        assert_refused(reply, fragment)
    listing = await discord.command(alice, "market list", status="all")
    assert "No markets yet" in listing.content


# --- /market show, list ------------------------------------------------------------------------------------------


async def test_market_show_by_number_hash_or_words(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will the bridge open in May?")
    await discord.create_market(alice, "Will the library stay open late?")
    for value in ("1", "#1", "#1 · Will the bridge open in May?", "bridge"):
        reply = await discord.command(bob, "market show", market=value)
        assert reply.ephemeral
        assert reply.embed["title"] == "#1 · Will the bridge open in May?"
        assert [b["custom_id"] for b in reply.buttons][:2] == ["buy:1:0", "buy:1:1"]
    assert_refused(await discord.command(bob, "market show", market="open"), "pick a market")  # matches both
    assert_refused(await discord.command(bob, "market show", market="99"), "no market #99")


async def test_market_list_filters_by_status(discord: DiscordClient, admin: User, bob: User) -> None:
    assert_refused(await discord.command(bob, "market list"), "No open markets yet")
    for question in ("First?", "Second?", "Third?", "Fourth?"):
        await discord.create_market(admin, question)
    await discord.command(admin, "market close", market="2")
    await discord.command(admin, "market resolve", market="3", outcome="Yes")
    await discord.command(admin, "market cancel", market="4")

    def numbers(reply: Reply) -> list[str]:
        return re.findall(r"\*\*#([0-9]+)\*\*", reply.embed["description"])

    default = await discord.command(bob, "market list")
    assert default.ephemeral and default.embed["title"] == "Open markets"
    assert numbers(default) == ["1"]
    assert "50.0%" in default.embed["description"] and "<t:" in default.embed["description"]
    for status, expected in [("open", ["1"]), ("closed", ["2"]), ("resolved", ["3"]), ("cancelled", ["4"])]:
        reply = await discord.command(bob, "market list", status=status)
        assert reply.ephemeral and numbers(reply) == expected, status
    everything = await discord.command(bob, "market list", status="all")
    assert everything.embed["title"] == "All markets"
    assert numbers(everything) == ["4", "3", "2", "1"]  # most recent first


# --- /market close, resolve, resolve-weighted, cancel -------------------------------------------------------------


async def test_market_close_stops_trading(discord: DiscordClient, alice: User, bob: User) -> None:
    market = await discord.command(alice, "market create", question="Close me?")
    reply = await discord.command(alice, "market close", market="1")
    assert not reply.ephemeral
    assert "Market #1 is closed to trading" in reply.content
    assert "Closed to trading" in reply.field("Status")
    assert all(b["disabled"] for b in reply.buttons if b["label"] != "Refresh")

    assert_refused(await discord.command(bob, "bet", market="1", outcome="Yes", amount=10), "closed")
    assert_refused(await discord.click(bob, "buy:1:0", on=market), "closed")
    assert_refused(await discord.command(alice, "market close", market="1"), "already closed")
    assert await discord.trade_count() == 0


async def test_market_resolve_pays_the_winners(discord: DiscordClient, alice: User, bob: User, carol: User) -> None:
    await discord.create_market(alice, "Will it snow?")
    bob_receipt = await discord.command(bob, "bet", market="1", outcome="Yes", amount=100)
    carol_receipt = await discord.command(carol, "bet", market="1", outcome="No", amount=50)
    bob_before, carol_before = bob_receipt.balance, carol_receipt.balance

    reply = await discord.command(alice, "market resolve", market="1", outcome="Yes")
    assert not reply.ephemeral
    payout = int(held(bob_receipt))  # floor(shares of the winning outcome)
    assert reply.embed["title"] == "Market #1 resolved"
    assert "Resolved: Yes" in reply.embed["description"]
    assert f"{bob.mention} +{payout:,} points" in reply.embed["description"]
    assert carol.mention not in reply.embed["description"]
    assert f"Paid out **{payout:,} points** to 1 member(s)." in reply.embed["description"]
    assert await discord.balance(bob) == bob_before + payout
    assert await discord.balance(carol) == carol_before
    assert_refused(await discord.command(alice, "market resolve", market="1", outcome="No"), "already resolved")
    assert_refused(await discord.command(alice, "market cancel", market="1"), "already resolved")
    assert await discord.ledger_problems() == []


async def test_market_resolve_refuses_an_unknown_outcome(discord: DiscordClient, alice: User) -> None:
    await discord.create_market(alice, "Will it snow?")
    reply = await discord.command(alice, "market resolve", market="1", outcome="Maybe")
    assert_refused(reply, "not an outcome of this market", "Yes, No")
    show = await discord.command(alice, "market show", market="1")
    assert "Closes <t:" in show.field("Status")


async def test_market_resolve_weighted_splits_the_payout(
    discord: DiscordClient, alice: User, bob: User, carol: User
) -> None:
    await discord.create_market(alice, "Which colour?", "Red, Blue")
    red = await discord.command(bob, "bet", market="1", outcome="Red", amount=200)
    blue = await discord.command(carol, "bet", market="1", outcome="Blue", amount=100)

    reply = await discord.command(alice, "market resolve-weighted", market="1", weights="Red 70, Blue 30")
    assert not reply.ephemeral
    bob_pay = int(held(red) * 70 / 100)
    carol_pay = int(held(blue) * 30 / 100)
    text = reply.embed["description"]
    assert "Resolved: Red 70%, Blue 30%" in text
    assert f"{bob.mention} +{bob_pay:,} points" in text
    assert f"{carol.mention} +{carol_pay:,} points" in text
    assert f"Paid out **{bob_pay + carol_pay:,} points** to 2 member(s)." in text
    assert await discord.balance(bob) == red.balance + bob_pay
    assert await discord.balance(carol) == blue.balance + carol_pay
    assert await discord.ledger_problems() == []


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [("Red 70, Blue 20", "add up to 90%"), ("Red 70, Green 30", "no outcome called"), ("Red, Blue", "a number")],
)
async def test_market_resolve_weighted_refuses_bad_weights(
    discord: DiscordClient, alice: User, weights: str, fragment: str
) -> None:
    await discord.create_market(alice, "Which colour?", "Red, Blue")
    assert_refused(await discord.command(alice, "market resolve-weighted", market="1", weights=weights), fragment)
    assert "Closes <t:" in (await discord.command(alice, "market show", market="1")).field("Status")


async def test_market_cancel_refunds_every_stake(discord: DiscordClient, alice: User, bob: User, carol: User) -> None:
    await discord.create_market(alice, "Will the show go on?")
    bob_start, carol_start = await discord.balance(bob), await discord.balance(carol)
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=120)
    await discord.command(bob, "bet", market="1", outcome="No", amount=30)
    await discord.command(carol, "bet", market="1", outcome="No", amount=75)

    reply = await discord.command(alice, "market cancel", market="1", reason="The venue burned down")
    assert not reply.ephemeral
    text = reply.embed["description"]
    assert reply.embed["title"] == "Market #1 cancelled"
    assert "Reason: The venue burned down" in text
    assert f"{bob.mention} +150 points" in text and f"{carol.mention} +75 points" in text
    assert "Refunded **225 points** to 2 member(s)." in text
    assert await discord.balance(bob) == bob_start
    assert await discord.balance(carol) == carol_start
    assert "Cancelled" in (await discord.command(bob, "market show", market="1")).field("Status")
    assert await discord.ledger_problems() == []


async def test_market_cancel_without_reason_or_trades(discord: DiscordClient, alice: User) -> None:
    await discord.create_market(alice, "Nobody cares?")
    reply = await discord.command(alice, "market cancel", market="1")
    assert "Reason" not in reply.embed["description"]
    assert "Nobody held a winning position." in reply.embed["description"]
    assert "Refunded **0 points** to 0 member(s)." in reply.embed["description"]


# --- /bet and /sell ---------------------------------------------------------------------------------------------------


async def test_bet_places_a_trade_and_replies_privately(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    reply = await discord.command(bob, "bet", market="1", outcome="yes", amount=250)  # labels match in any case
    assert reply.ephemeral
    assert re.search(r"Bought \*\*[0-9,.]+ shares\*\* of \*\*Yes\*\* in #1 for \*\*250 points\*\*", reply.content)
    assert re.search(r"Yes is now \*\*[0-9.]+%\*\* \(was 50\.0%\)", reply.content)
    assert reply.balance == 750
    assert await discord.balance(bob) == 750
    assert await discord.trade_count() == 1

    shown = await discord.command(bob, "market show", market="1")
    assert shown.field("Volume") == "250 points" and shown.field("Trades") == "1"
    yes, no = (float(p) for p in PERCENT.findall(shown.embed["description"]))
    assert yes > 50 > no and round(yes + no, 1) == 100.0


async def test_bet_picks_a_market_by_autocomplete_choice_value_and_outcome_by_label(
    discord: DiscordClient, alice: User, bob: User
) -> None:
    await discord.create_market(alice, "Which colour?", "Red, Blue, Green")
    market = (await discord.autocomplete(bob, "bet", "market", market="colour")).choices[0]["value"]
    outcome = (await discord.autocomplete(bob, "bet", "outcome", market=market, outcome="gr")).choices[0]["value"]
    assert (market, outcome) == ("1", "Green")
    reply = await discord.command(bob, "bet", market=market, outcome=outcome, amount=10)
    assert "of **Green** in #1" in reply.content


async def test_sell_some_then_all(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    bought = await discord.command(bob, "bet", market="1", outcome="Yes", amount=300)
    holding = held(bought)

    some = await discord.command(bob, "sell", market="1", outcome="Yes", shares=Decimal("50.5"))
    assert some.ephemeral
    assert "Sold **50.50 shares** of **Yes** in #1" in some.content
    assert held(some) == holding - Decimal("50.50")
    assert some.balance == bought.balance + paid(some)

    rest = await discord.command(bob, "sell", market="1", outcome="Yes")  # no shares: everything
    assert f"Sold **{held(some):,.2f} shares**" in rest.content
    assert "You hold 0.00 shares of Yes" in rest.content
    assert await discord.balance(bob) == rest.balance
    assert rest.balance < 1000  # the market maker keeps the spread
    assert_refused(await discord.command(bob, "sell", market="1", outcome="Yes"), "hold no shares")
    assert await discord.trade_count() == 3
    assert await discord.ledger_problems() == []


async def test_sell_more_than_held_is_refused(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
    balance = await discord.balance(bob)
    assert_refused(await discord.command(bob, "sell", market="1", outcome="Yes", shares=5000.0), "only hold")
    assert_refused(await discord.command(bob, "sell", market="1", outcome="No"), "hold no shares")
    assert await discord.balance(bob) == balance
    assert await discord.trade_count() == 1


# --- /balance, /portfolio, /leaderboard, /daily, /give -----------------------------------------------------------


async def test_balance_own_and_another_members(discord: DiscordClient, alice: User, bob: User) -> None:
    own = await discord.command(alice, "balance")
    assert own.ephemeral and own.content == "Your balance: **1,000 points**"
    other = await discord.command(alice, "balance", user=bob)
    assert other.ephemeral and other.content == f"{bob.mention}'s balance: **1,000 points**"
    bot = User("1234567890123456789", "somebot", bot=True)
    assert_refused(await discord.command(alice, "balance", user=bot), "Bots don't play")


async def test_portfolio_without_positions(discord: DiscordClient, alice: User, bob: User) -> None:
    own = await discord.command(bob, "portfolio")
    assert own.ephemeral and own.embed["title"] == "Your portfolio"
    assert "Cash: **1,000 points**" in own.embed["description"]
    assert "No open positions" in own.embed["description"]
    other = await discord.command(alice, "portfolio", user=bob)
    assert other.ephemeral and other.embed["title"] == "Portfolio"
    assert bob.mention in other.embed["description"]


async def test_portfolio_lists_open_positions(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    bought = await discord.command(bob, "bet", market="1", outcome="No", amount=100)

    own = await discord.command(bob, "portfolio")
    assert own.ephemeral and own.embed["title"] == "Your portfolio"
    text = own.embed["description"]
    assert "Cash: **900 points**" in text
    assert "**#1** Will it rain? · **No**" in text
    assert f"{held(bought):,.2f} shares" in text
    assert re.search(r"P/L -[0-9]+ points", text)  # selling straight back loses the spread
    other = await discord.command(alice, "portfolio", user=bob)
    assert bob.mention in other.embed["description"] and "**#1** Will it rain?" in other.embed["description"]


async def test_leaderboard_is_public_and_ordered(
    discord: DiscordClient, admin: User, alice: User, bob: User, carol: User
) -> None:
    empty = await discord.command(alice, "leaderboard")
    assert not empty.ephemeral and "Nobody has played yet" in empty.content
    await discord.command(admin, "admin grant", user=carol, amount=500)
    await discord.command(alice, "daily")
    await discord.command(bob, "give", user=alice, amount=1)

    board = await discord.command(bob, "leaderboard")
    assert not board.ephemeral
    assert board.embed["title"] == "Leaderboard"
    lines = board.embed["description"].splitlines()
    assert lines[0] == f"🥇 {carol.mention}: **1,500 points**"
    assert lines[1] == f"🥈 {alice.mention}: **1,101 points**"
    assert lines[2] == f"🥉 {bob.mention} (Bob): **999 points**"  # the asker is named


async def test_daily_once_per_day(discord: DiscordClient, alice: User) -> None:
    first = await discord.command(alice, "daily")
    assert first.ephemeral
    assert "You claimed **100 points**" in first.content and first.balance == 1100
    assert TIMESTAMP.search(first.content)
    second = await discord.command(alice, "daily")
    assert second.ephemeral
    assert "already claimed" in second.content
    opens = relative_time(second.content)
    assert abs(opens - (int(time.time()) + 86400)) <= 5
    assert await discord.balance(alice) == 1100


async def test_give_moves_points(discord: DiscordClient, alice: User, bob: User) -> None:
    reply = await discord.command(alice, "give", user=bob, amount=250)
    assert reply.ephemeral
    assert f"You gave **250 points** to {bob.mention}" in reply.content and reply.balance == 750
    assert await discord.balance(bob) == 1250
    assert await discord.balance(alice) == 750


async def test_give_refusals_change_nothing(discord: DiscordClient, alice: User, bob: User) -> None:
    bot = User("1234567890123456789", "somebot", bot=True)
    await discord.command(alice, "daily")
    for options, fragment in [
        ({"user": bob, "amount": 5000}, "only have"),
        ({"user": alice, "amount": 5}, "yourself"),
        ({"user": bot, "amount": 5}, "Bots"),
        ({"user": bob, "amount": 0}, "at least 1"),
        ({"user": bob, "amount": -5}, "at least 1"),
    ]:
        assert_refused(await discord.command(alice, "give", **options), fragment)
    assert await discord.balance(alice) == 1100
    assert await discord.balance(bob) == 1000


# --- /admin -----------------------------------------------------------------------------------------------------


async def test_admin_config_shows_then_changes_settings(discord: DiscordClient, admin: User, bob: User) -> None:
    shown = await discord.command(admin, "admin config")
    assert shown.ephemeral and shown.embed["title"] == "Hunch settings"
    assert shown.field("Starting balance") == "1,000 points"
    assert shown.field("Daily bonus") == "100 points"
    assert shown.field("Default duration") == "1w"
    assert shown.field("Who can create markets") == "anyone"

    changed = await discord.command(
        admin,
        "admin config",
        starting_balance=500,
        daily_bonus=25,
        default_liquidity=200,
        default_duration="3d",
        max_stake=400,
        currency="coins",
        resolver_role=ROLE_ID,
    )
    assert changed.ephemeral and "Settings updated" in changed.content
    assert changed.field("Starting balance") == "500 coins"
    assert changed.field("Max stake") == "400 coins"
    assert changed.field("Default duration") == "3d"
    assert changed.field("Resolvers") == f"<@&{ROLE_ID}>"

    assert await discord.balance(bob) == 500
    assert "25 coins" in (await discord.command(bob, "daily")).content
    created = await discord.command(admin, "market create", question="Coins?")
    assert abs(relative_time(created.field("Status")) - (int(time.time()) + 3 * 86400)) <= 5
    refused = await discord.command(bob, "bet", market="1", outcome="Yes", amount=401)
    assert_refused(refused, "400")
    assert await discord.balance(bob) == 525

    cleared = await discord.command(admin, "admin config", clear_resolver_role=True)
    assert cleared.field("Resolvers") == "creators and managers"
    assert_refused(await discord.command(admin, "admin config", max_stake=0), "max stake")
    assert_refused(await discord.command(admin, "admin config", default_duration="forever"), "duration")


async def test_admin_config_turns_notifications_on_and_off(discord: DiscordClient, admin: User) -> None:
    shown = await discord.command(admin, "admin config")
    assert (shown.field("Winners mentioned"), shown.field("Closing announced")) == ("no", "no")
    on = await discord.command(admin, "admin config", mention_winners=True, announce_closing=True)
    assert (on.field("Winners mentioned"), on.field("Closing announced")) == ("yes", "an hour before")
    half = await discord.command(admin, "admin config", announce_closing=False)
    assert (half.field("Winners mentioned"), half.field("Closing announced")) == ("yes", "no")


async def test_admin_grant(discord: DiscordClient, manager: User, bob: User) -> None:
    reply = await discord.command(manager, "admin grant", user=bob, amount=1500, reason="Won the <@&1> quiz")
    assert reply.ephemeral
    assert f"Granted **1,500 points** to {bob.mention} (Won the <@&1> quiz)" in reply.content
    assert "Their balance: **2,500 points**" in reply.content
    assert await discord.balance(bob) == 2500
    assert_refused(await discord.command(manager, "admin grant", user=bob, amount=0), "at least 1")
    assert await discord.ledger_problems() == []


# --- buttons and modals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", [False, True], ids=["action-row", "label"])
async def test_buy_button_opens_a_modal_whose_submit_trades(
    discord: DiscordClient, alice: User, bob: User, label: bool
) -> None:
    market = await discord.command(alice, "market create", question="Will it rain?", outcomes="Sun, Rain")
    modal = await discord.click(bob, "buy:1:1", on=market)
    assert modal.type == MODAL
    assert modal.data["custom_id"] == "buymodal:1:1"
    assert modal.data["title"] == "Buy Rain"
    (amount_input,) = modal.text_inputs
    assert amount_input["style"] == 1 and amount_input["required"] is True
    assert "50.0%" in amount_input["label"]

    receipt = await discord.submit(bob, modal, {amount_input["custom_id"]: "1,000"}, label=label)
    assert receipt.type == CHANNEL_MESSAGE and receipt.ephemeral
    assert "of **Rain** in #1 for **1,000 points**" in receipt.content
    assert receipt.shares() and receipt.shares()[0] > 1000
    assert re.search(r"Rain is now \*\*[0-9.]+%\*\*", receipt.content)
    assert receipt.balance == 0
    assert await discord.trade_count() == 1


async def test_refresh_updates_the_market_message(discord: DiscordClient, alice: User, bob: User) -> None:
    market = await discord.command(alice, "market create", question="Will it rain?")
    await discord.buy(bob, 1, 0, "100")
    refreshed = await discord.click(bob, "refresh:1", on=market)
    assert refreshed.type == UPDATE_MESSAGE
    assert "flags" not in refreshed.data
    assert refreshed.field("Volume") == "100 points" and refreshed.field("Trades") == "1"
    assert "**50.0%**" not in refreshed.embed["description"]
    assert [b["custom_id"] for b in refreshed.buttons] == [b["custom_id"] for b in market.buttons]

    await discord.command(alice, "market resolve", market="1", outcome="Yes")
    settled = await discord.click(bob, "refresh:1", on=refreshed)
    assert settled.type == UPDATE_MESSAGE
    assert settled.field("Status") == "Resolved: Yes"
    assert "✅" in settled.embed["description"]
    assert all(b["disabled"] for b in settled.buttons if b["label"] != "Refresh")


async def test_sell_button_without_holdings(discord: DiscordClient, alice: User, bob: User) -> None:
    market = await discord.command(alice, "market create", question="Who wins?", outcomes="Red, Blue, Green")
    assert_refused(await discord.click(bob, "sell:1", on=market), "no shares in market #1")


async def test_sell_button_lists_holdings_then_sells_through_a_modal(
    discord: DiscordClient, alice: User, bob: User
) -> None:
    market = await discord.command(alice, "market create", question="Who wins?", outcomes="Red, Blue, Green")
    await discord.buy(bob, 1, 0, "100")
    bought = await discord.buy(bob, 1, 2, "40")
    listing = await discord.click(bob, "sell:1", on=market)
    assert listing.type == CHANNEL_MESSAGE and listing.ephemeral
    assert "**Red**" in listing.content and "**Green**" in listing.content and "Blue" not in listing.content
    assert [b["custom_id"] for b in listing.buttons] == ["sellpick:1:0", "sellpick:1:2"]
    assert [b["label"] for b in listing.buttons] == ["Sell Red", "Sell Green"]

    modal = await discord.click(bob, "sellpick:1:2", on=listing)
    assert modal.type == MODAL and modal.data["custom_id"] == "sellmodal:1:2"
    assert modal.data["title"] == "Sell Green"
    (shares_input,) = modal.text_inputs
    assert shares_input["value"] == "all"
    sold = await discord.submit(bob, modal, {shares_input["custom_id"]: "all"}, label=True)
    assert sold.ephemeral
    assert f"Sold **{held(bought):,.2f} shares** of **Green** in #1" in sold.content
    assert "You hold 0.00 shares of Green" in sold.content
    assert await discord.balance(bob) == sold.balance

    partial = await discord.submit(bob, await discord.click(bob, "sellpick:1:0", on=listing), {"shares": "10"})
    assert "Sold **10.00 shares** of **Red**" in partial.content
    assert_refused(await discord.submit(bob, await discord.click(bob, "sellpick:1:0"), {"shares": "abc"}), "shares")
    assert_refused(await discord.submit(bob, await discord.click(bob, "sellpick:1:1"), {"shares": "all"}), "no shares")
    assert await discord.trade_count() == 4
    relisted = await discord.click(bob, "sell:1", on=market)
    assert [b["label"] for b in relisted.buttons] == ["Sell Red"]
    assert await discord.ledger_problems() == []


async def test_stale_or_forged_buttons_are_refused(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    for custom_id, fragment in [
        ("buy:1:7", "out of date"),
        ("buy:x:y", "out of date"),
        ("buy:42:0", "no market #42"),
        ("sellpick:1:9", "out of date"),
        ("sellpick:zz", "out of date"),
        ("refresh:99", "no market #99"),
        ("refresh:x", "out of date"),
        ("refresh", "out of date"),
        ("nonsense", "don't know"),
    ]:
        assert_refused(await discord.click(bob, custom_id), fragment)
    assert await discord.trade_count() == 0


# --- autocomplete --------------------------------------------------------------------------------------------------


async def test_market_autocomplete(discord: DiscordClient, admin: User, bob: User) -> None:
    long_question = "Will the marathon be " + "very " * 40 + "long?"
    await discord.create_market(admin, long_question[:200])
    for number in range(2, 28):
        await discord.create_market(admin, f"Question number {number} about {'cats' if number % 2 else 'dogs'}?")

    empty = await discord.autocomplete(bob, "bet", "market")
    assert empty.type == AUTOCOMPLETE_RESULT
    assert len(empty.choices) == 25
    assert [c["value"] for c in empty.choices] == [str(n) for n in range(27, 2, -1)]  # most recent first
    assert empty.choices[0]["name"] == "#27 · Question number 27 about cats?"

    by_number = await discord.autocomplete(bob, "market show", "market", market="12")
    assert {"name": "#12 · Question number 12 about dogs?", "value": "12"} in by_number.choices
    by_hash = await discord.autocomplete(bob, "market close", "market", market="#25")
    assert by_hash.choices == [{"name": "#25 · Question number 25 about cats?", "value": "25"}]
    long = await discord.autocomplete(bob, "market close", "market", market="Marathon")
    assert [c["value"] for c in long.choices] == ["1"]
    name = long.choices[0]["name"]
    assert name.startswith("#1 · Will the marathon be very") and name.endswith("…") and len(name) == 100

    words = await discord.autocomplete(bob, "sell", "market", market="ABOUT cats")
    assert [c["value"] for c in words.choices] == [str(n) for n in range(27, 2, -2)]
    assert (await discord.autocomplete(bob, "bet", "market", market="zebras")).choices == []


async def test_market_autocomplete_puts_the_typed_number_first(discord: DiscordClient, admin: User, bob: User) -> None:
    for number in range(1, 13):
        await discord.create_market(admin, f"Question number {number}?")
    reply = await discord.autocomplete(bob, "bet", "market", market="1")
    assert reply.choices[0] == {"name": "#1 · Question number 1?", "value": "1"}


async def test_resolve_autocomplete_offers_closed_markets(discord: DiscordClient, alice: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    await discord.command(alice, "market close", market="1")
    for path in ("market resolve", "market resolve-weighted", "market cancel"):
        reply = await discord.autocomplete(alice, path, "market", market="rain")
        assert reply.choices == [{"name": "#1 · Will it rain?", "value": "1"}], path


async def test_market_autocomplete_for_every_command_with_a_market(
    discord: DiscordClient, alice: User, bob: User
) -> None:
    await discord.create_market(alice, "Will it rain?")
    for path in (
        "market show",
        "market close",
        "market resolve",
        "market resolve-weighted",
        "market cancel",
        "bet",
        "sell",
    ):
        reply = await discord.autocomplete(bob, path, "market", market="rain")
        assert reply.choices == [{"name": "#1 · Will it rain?", "value": "1"}], path


async def test_outcome_autocomplete(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Which colour?", "Red, Blue, Green, Dark red")
    await discord.command(bob, "bet", market="1", outcome="Blue", amount=100)

    everything = await discord.autocomplete(bob, "bet", "outcome", market="1")
    names = [c["name"] for c in everything.choices]
    assert [c["value"] for c in everything.choices] == ["Red", "Blue", "Green", "Dark red"]
    assert all(re.fullmatch(r".+ · [0-9]+\.[0-9]%", n) for n in names), names
    assert names[1].startswith("Blue · ") and names[0] != "Red · 25.0%"

    typed = await discord.autocomplete(bob, "market resolve", "outcome", market="#1 · Which colour?", outcome="RED")
    assert [c["value"] for c in typed.choices] == ["Red", "Dark red"]
    for market in ("", "99", "nonsense"):
        assert (await discord.autocomplete(bob, "sell", "outcome", market=market)).choices == []


async def test_autocomplete_never_errors(discord: DiscordClient, bob: User) -> None:
    assert (await discord.autocomplete(bob, "bet", "market", market="x" * 500)).choices == []
    unknown = await discord.send(interaction(4, {"name": "nope", "type": 1, "options": []}, bob))
    assert unknown.type == AUTOCOMPLETE_RESULT and unknown.choices == []


# --- amounts -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "spent"), [("1,000", 1000), ("1k", 1000), ("250", 250), ("all", 1000)])
async def test_amounts_members_type_are_understood(
    discord: DiscordClient, alice: User, bob: User, typed: str, spent: int
) -> None:
    await discord.create_market(alice, "Will it rain?")
    receipt = await discord.buy(bob, 1, 0, typed)
    assert paid(receipt) == spent
    assert receipt.balance == 1000 - spent


async def test_all_is_capped_by_the_max_stake(discord: DiscordClient, admin: User, bob: User) -> None:
    await discord.command(admin, "admin config", max_stake=300)
    await discord.create_market(admin, "Will it rain?")
    receipt = await discord.buy(bob, 1, 0, "all")
    assert paid(receipt) == 300 and receipt.balance == 700


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("abc", "isn't an amount"),
        ("-5", "more than zero"),
        ("0", "more than zero"),
        ("12.5", "no decimals"),
        ("1e9", "isn't an amount"),
        ("1" * 400, "far too long"),
        ("1,500", "only have 1,000"),
        ("2k", "only have 1,000"),
        ("", "enter an amount"),
        ("１２", "isn't an amount"),
    ],
)
async def test_bad_amounts_are_refused_and_change_nothing(
    discord: DiscordClient, alice: User, bob: User, typed: str, fragment: str
) -> None:
    await discord.create_market(alice, "Will it rain?")
    reply = await discord.buy(bob, 1, 0, typed)
    assert_refused(reply, fragment)
    assert await discord.balance(bob) == 1000
    assert await discord.trade_count() == 0
    shown = await discord.command(bob, "market show", market="1")
    assert shown.field("Volume") == "0 points" and "**50.0%**" in shown.embed["description"]


async def test_more_than_the_max_stake_is_refused(discord: DiscordClient, admin: User, bob: User) -> None:
    await discord.command(admin, "admin config", max_stake=300)
    await discord.create_market(admin, "Will it rain?")
    assert_refused(await discord.buy(bob, 1, 0, "301"), "300")
    assert_refused(await discord.command(bob, "bet", market="1", outcome="Yes", amount=301), "300")
    assert await discord.balance(bob) == 1000
    assert await discord.trade_count() == 0


@pytest.mark.parametrize("amount", [0, -5, 10**15])
async def test_bet_refuses_integers_discord_should_have_blocked(
    discord: DiscordClient, alice: User, bob: User, amount: int
) -> None:
    await discord.create_market(alice, "Will it rain?")
    assert_refused(await discord.command(bob, "bet", market="1", outcome="Yes", amount=amount))
    assert await discord.balance(bob) == 1000
    assert await discord.trade_count() == 0


# --- outside a server, unknown commands ----------------------------------------------------------------------------


async def test_direct_messages_are_refused_politely(discord: DiscordClient, alice: User) -> None:
    for path in ("balance", "daily", "leaderboard"):
        reply = await discord.send(slash_command(alice, path, guild_id=None))
        assert_refused(reply, "works inside a server")


async def test_unknown_command_is_refused(discord: DiscordClient, alice: User) -> None:
    reply = await discord.send(slash_command(alice, "casino"))
    assert_refused(reply, "don't know that command")
