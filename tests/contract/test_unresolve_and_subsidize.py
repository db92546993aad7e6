"""`/market unresolve`, `/market subsidize` and their `/admin config` settings, through the real ASGI app with
signed Discord payloads: what members see, and that the books stay exact."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.contract.test_commands import assert_refused, held
from tests.support.discord_payloads import DiscordClient, User

PERCENTS = re.compile(r"\*\*([0-9]+\.[0-9])%\*\*")


async def test_unresolve_takes_back_the_payouts_and_reopens_the_market(
    discord: DiscordClient, alice: User, bob: User, carol: User
) -> None:
    await discord.create_market(alice, "Will it snow?")
    bob_bet = await discord.command(bob, "bet", market="1", outcome="Yes", amount=100)
    carol_bet = await discord.command(carol, "bet", market="1", outcome="No", amount=50)
    await discord.command(alice, "market resolve", market="1", outcome="Yes")
    payout = int(held(bob_bet))
    assert await discord.balance(bob) == bob_bet.balance + payout
    # Bob spends all but 10 points of it before the mistake is noticed.
    await discord.command(bob, "give", user=carol.id, amount=bob_bet.balance + payout - 10)

    reply = await discord.command(alice, "market unresolve", market="1", reason="Wrong outcome")
    assert not reply.ephemeral
    assert "**Market #1 unresolved**: its resolution (Yes) was undone." in reply.content
    assert "Reason: Wrong outcome" in reply.content
    assert f"the house covered {payout - 10:,} points they had already spent" in reply.content
    assert "Trading is open again." in reply.content
    assert "Closes <t:" in reply.field("Status")  # the market's message, open again with its buttons
    assert [b["label"] for b in reply.buttons][-2:] == ["Sell", "Refresh"]
    assert await discord.balance(bob) == 0
    assert await discord.ledger_problems() == []

    again = await discord.command(alice, "market resolve", market="1", outcome="No")
    carol_payout = int(held(carol_bet))
    assert f"Paid out **{carol_payout:,} points** to 1 member(s)." in again.embed["description"]
    assert await discord.ledger_problems() == []


async def test_unresolve_is_refused_to_others_and_on_unsettled_markets(
    discord: DiscordClient, alice: User, bob: User
) -> None:
    await discord.create_market(alice, "Will it snow?")
    assert_refused(await discord.command(alice, "market unresolve", market="1"), "not resolved or cancelled")
    await discord.command(alice, "market cancel", market="1", reason="oops")
    assert_refused(await discord.command(bob, "market unresolve", market="1"), "Only the market's creator")
    reply = await discord.command(alice, "market unresolve", market="1")
    assert "its cancellation was undone" in reply.content and "Reason" not in reply.content
    assert await discord.ledger_problems() == []


async def test_unresolve_autocomplete_offers_settled_markets_only(discord: DiscordClient, alice: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    await discord.create_market(alice, "Will it hail?")
    await discord.command(alice, "market resolve", market="2", outcome="No")
    reply = await discord.autocomplete(alice, "market unresolve", "market", market="will")
    assert reply.choices == [{"name": "#2 · Will it hail?", "value": "2"}]
    subsidize = await discord.autocomplete(alice, "market subsidize", "market", market="will")
    assert subsidize.choices == [{"name": "#1 · Will it rain?", "value": "1"}]


async def test_subsidize_deepens_a_market_without_moving_its_prices(
    discord: DiscordClient, alice: User, bob: User, carol: User
) -> None:
    await discord.create_market(alice, "Which colour?", "Red, Blue, Green", liquidity=200)
    await discord.command(bob, "bet", market="1", outcome="Red", amount=150)
    before = PERCENTS.findall((await discord.command(carol, "market show", market="1")).embed["description"])
    start = await discord.balance(carol)

    reply = await discord.command(carol, "market subsidize", market="1", amount=300)
    assert reply.ephemeral
    assert "Added **300 points** of liquidity to #1: 200 points →" in reply.content
    assert "prices unchanged" in reply.content
    assert f"Your balance: **{start - 300:,} points**." in reply.content
    after = PERCENTS.findall((await discord.command(carol, "market show", market="1")).embed["description"])
    assert after == before
    assert await discord.balance(carol) == start - 300
    assert await discord.ledger_problems() == []

    assert_refused(await discord.command(carol, "market subsidize", market="1", amount=10**6), "only have")
    await discord.command(alice, "market close", market="1")
    assert_refused(await discord.command(carol, "market subsidize", market="1", amount=5), "only an open market")
    assert await discord.balance(carol) == start - 300
    trade = await discord.command(bob, "market resolve", market="1", outcome="Red")
    assert_refused(trade, "Only the market's creator")
    settled = await discord.command(alice, "market resolve", market="1", outcome="Red")
    assert "Paid out" in settled.embed["description"]
    assert await discord.ledger_problems() == []
    assert Decimal(after[0]) > 0


async def test_a_subsidy_too_small_to_deepen_a_small_market_without_moving_its_prices_is_refused(
    discord: DiscordClient, alice: User, bob: User, carol: User
) -> None:
    await discord.create_market(alice, "Will it hail?", liquidity=10)
    await discord.command(bob, "bet", market="1", outcome="No", amount=5)
    start = await discord.balance(carol)
    refused = await discord.command(carol, "market subsidize", market="1", amount=10)
    assert_refused(refused, "without moving its prices: subsidise at least 15 points")
    assert await discord.balance(carol) == start
    reply = await discord.command(carol, "market subsidize", market="1", amount=15)
    assert "Added **15 points** of liquidity to #1: 10 points → **20 points**, prices unchanged." in reply.content
    assert await discord.ledger_problems() == []


async def test_admin_config_shows_and_changes_the_unresolve_window_and_the_auto_refund(
    discord: DiscordClient, admin: User
) -> None:
    shown = await discord.command(admin, "admin config")
    assert (shown.field("Unresolve window"), shown.field("Auto refund after")) == ("10m", "2w")
    changed = await discord.command(admin, "admin config", unresolve_window="1h", auto_refund_after="3d")
    assert (changed.field("Unresolve window"), changed.field("Auto refund after")) == ("1h", "3d")
    off = await discord.command(admin, "admin config", unresolve_window="off", auto_refund_after="off")
    assert (off.field("Unresolve window"), off.field("Auto refund after")) == ("off", "off")
    assert_refused(await discord.command(admin, "admin config", auto_refund_after="soon"), "duration")
    assert_refused(await discord.command(admin, "admin config", unresolve_window="8d"), "at most 7 days")
