"""What members must not be able to do: ping people, smuggle control characters, overflow Discord's limits, act
without permission, trade faster than the limit, or get one interaction applied twice.
"""

from __future__ import annotations

import re
import time
import unicodedata

import pytest

from app.ratelimit import RateLimiter
from tests.contract.conftest import MakeDiscord
from tests.support.discord_payloads import (
    CHANNEL_MESSAGE,
    PERM_MEMBER,
    DiscordClient,
    Reply,
    User,
    slash_command,
)

ROLE_ID = "1336784655155986432"
OTHER_ROLE_ID = "1403111146944467114"
MENTIONS = "@everyone @here <@&123> <@456> <@!789>"
FORBIDDEN_SETTLE = "Only the market's creator, a resolver or a server manager"
FORBIDDEN_ADMIN = "Only members with Manage Server or Administrator"


def assert_refused(reply: Reply, *fragments: str) -> None:
    assert reply.type == CHANNEL_MESSAGE
    assert reply.ephemeral, f"an error must be ephemeral: {reply.body}"
    for fragment in fragments:
        assert fragment.lower() in reply.content.lower(), f"{fragment!r} not in {reply.content!r}"


def embed_size(reply: Reply) -> int:
    """Characters Discord counts towards the 6000 limit across a message's embeds."""
    total = 0
    for embed in reply.embeds:
        total += len(embed.get("title", "")) + len(embed.get("description", ""))
        total += len((embed.get("footer") or {}).get("text", "")) + len((embed.get("author") or {}).get("name", ""))
        total += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields") or [])
    return total


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cf") and c != "\n" for c in text)


# --- mentions ------------------------------------------------------------------------------------------------------


async def test_member_text_with_mentions_never_pings(
    discord: DiscordClient, alice: User, bob: User, admin: User
) -> None:
    replies: list[Reply] = []
    created = await discord.command(
        alice,
        "market create",
        question=f"Party? {MENTIONS}",
        outcomes="@everyone, <@&123>, <@456>",
        description=f"Details {MENTIONS}",
    )
    replies.append(created)
    assert "@everyone" in created.embed["title"] and "<@&123>" in created.embed["description"]
    replies.append(await discord.command(bob, "market show", market="1"))
    replies.append(await discord.command(bob, "market list"))
    replies.append(await discord.command(bob, "bet", market="1", outcome="@everyone", amount=50))
    replies.append(await discord.buy(bob, 1, 1, "25"))
    replies.append(await discord.command(bob, "bet", market="1", outcome=f"{MENTIONS} nope", amount=5))
    replies.append(await discord.click(bob, "refresh:1", on=created))
    replies.append(await discord.command(admin, "admin grant", user=bob, amount=5, reason=MENTIONS))
    replies.append(await discord.command(admin, "admin config", currency="@everyone"))
    replies.append(await discord.command(bob, "balance"))
    replies.append(await discord.command(bob, "leaderboard"))
    replies.append(await discord.command(alice, "market close", market="1"))
    replies.append(await discord.command(alice, "market resolve", market="1", outcome="@everyone"))
    await discord.create_market(alice, f"Second {MENTIONS}")
    await discord.command(bob, "bet", market="2", outcome="Yes", amount=5)
    replies.append(await discord.command(alice, "market cancel", market="2", reason=MENTIONS))

    for reply in replies:
        assert reply.data["allowed_mentions"] == {"parse": []}, reply.body
    mentioned = [r for r in replies if "@everyone" in r.text or "<@456>" in r.text or "<@&123>" in r.text]
    assert len(mentioned) >= 10  # the text is shown as typed; it is the allowed_mentions that keep it silent


# --- cleaning and limits ----------------------------------------------------------------------------------------


async def test_control_characters_are_stripped_and_whitespace_collapsed(
    discord: DiscordClient, alice: User, bob: User
) -> None:
    reply = await discord.command(
        alice,
        "market create",
        question="  Will\x00 it \u200brain\t\t tomorrow?\u202e\x1b\r\n ",
        outcomes=" Sun\x07 ,\tHeavy \u200d  rain ",
        description="Line\x00 one\n\n\n\nLine   two\u200b\n\n",
    )
    assert not reply.ephemeral
    assert reply.embed["title"] == "#1 · Will it rain tomorrow?"
    assert reply.embed["description"].startswith("Line one\n\nLine two\n\n")
    assert [b["label"] for b in reply.buttons][:2] == ["Buy Sun", "Buy Heavy rain"]
    assert not has_control_characters(reply.text)

    receipt = await discord.command(bob, "bet", market="1", outcome="heavy RAIN", amount=10)
    assert "of **Heavy rain**" in receipt.content


async def test_error_replies_echo_no_control_characters(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    reply = await discord.command(bob, "bet", market="1", outcome="\x00\u202eMaybe\n\n\n\n\u200bperhaps\x1b", amount=5)
    assert_refused(reply, "is not an outcome of this market")
    assert not has_control_characters(reply.content)
    assert "\n\n" not in reply.content


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"question": "Q" * 201}, "at most 200"),
        ({"question": "\x00\u200b \t"}, "can't be empty"),
        ({"question": "Fine?", "outcomes": "Yes, " + "N" * 51}, "at most 50"),
        ({"question": "Fine?", "outcomes": "Yes, No, YES"}, "more than once"),
        ({"question": "Fine?", "outcomes": "Ｙｅｓ, Yes"}, "more than once"),  # fullwidth letters
        ({"question": "Fine?", "outcomes": "Red,  blue , BLUE"}, "more than once"),
        ({"question": "Fine?", "outcomes": ",".join("ABCDEFGHIJK")}, "at most 10"),
        ({"question": "Fine?", "description": "D" * 1001}, "at most 1000"),
    ],
)
async def test_oversized_or_duplicate_text_is_refused(
    discord: DiscordClient, alice: User, options: dict[str, str], fragment: str
) -> None:
    assert_refused(await discord.command(alice, "market create", **options), fragment)
    assert "No markets yet" in (await discord.command(alice, "market list", status="all")).content


async def test_ten_outcomes_with_the_longest_texts_fit_in_one_message(
    discord: DiscordClient, alice: User, admin: User
) -> None:
    outcomes = [f"{i}" + "W" * 49 for i in range(10)]
    created = await discord.command(
        alice,
        "market create",
        question="Q" * 199 + "?",
        outcomes=", ".join(outcomes),
        description="\n".join(["D" * 99] * 10),
    )
    assert not created.ephemeral
    assert len(created.embed["title"]) <= 256 and embed_size(created) <= 6000
    assert len(created.buttons) == 12 and len(created.components) == 3
    assert all(len(b["label"]) <= 80 for b in created.buttons)

    traders = [User(str(800000000000000000 + i), f"trader{i}") for i in range(17)]
    for index, trader in enumerate(traders):
        receipt = await discord.command(trader, "bet", market="1", outcome=outcomes[index % 10], amount=10)
        assert len(receipt.content) <= 2000
    shown = await discord.command(alice, "market show", market="1")
    assert embed_size(shown) <= 6000
    listing = await discord.command(alice, "market list")
    assert embed_size(listing) <= 6000
    for number in range(2, 21):  # a list longer than one embed can hold
        await discord.create_market(admin, f"{number} " + "L" * 190, ", ".join(["X" * 50, "Y" * 50]))
    long_list = await discord.command(alice, "market list")
    assert long_list.embed["description"].endswith("…") and embed_size(long_list) <= 6000

    weights = ", ".join(f"{label} 10" for label in outcomes)
    settled = await discord.command(alice, "market resolve-weighted", market="1", weights=weights)
    assert not settled.ephemeral and embed_size(settled) <= 6000
    assert "…and 2 more" in settled.embed["description"]  # 17 winners, 15 named
    assert "to 17 member(s)" in settled.embed["description"]
    assert await discord.ledger_problems() == []


# --- permissions --------------------------------------------------------------------------------------------------

SETTLE_ACTIONS = {
    "close": ("market close", {}),
    "resolve": ("market resolve", {"outcome": "Yes"}),
    "resolve-weighted": ("market resolve-weighted", {"weights": "Yes 60, No 40"}),
    "cancel": ("market cancel", {"reason": "Void"}),
}
ACTORS = {
    "creator": (User("410212090289192960", "alice", "Alice"), True),
    "manage-server": (User("700000000000000002", "mod", permissions="32"), True),
    "administrator": (User("700000000000000001", "boss", permissions="8"), True),
    "resolver-role": (User("612345678901234567", "carol", roles=(OTHER_ROLE_ID, ROLE_ID)), True),
    "member": (User("612345678901234567", "carol"), False),
    "member-with-other-role": (User("612345678901234567", "carol", roles=(OTHER_ROLE_ID,)), False),
}


@pytest.mark.parametrize("action", list(SETTLE_ACTIONS))
async def test_who_may_close_resolve_or_cancel(
    make_discord: MakeDiscord, alice: User, bob: User, admin: User, action: str
) -> None:
    """Each kind of member tries the action on a market of their own (created by alice, traded by bob)."""
    discord = await make_discord(MARKET_CREATE_RATE_LIMIT=50)
    await discord.command(admin, "admin config", resolver_role=ROLE_ID)
    path, options = SETTLE_ACTIONS[action]
    for who, (actor, allowed) in ACTORS.items():
        number = await discord.create_market(alice, f"Market for {who}?")
        await discord.command(bob, "bet", market=str(number), outcome="Yes", amount=100)
        bob_balance = await discord.balance(bob)

        reply = await discord.command(actor, path, market=str(number), **options)
        status = (await discord.command(bob, "market show", market=str(number))).field("Status")
        if allowed:
            assert not reply.ephemeral, f"{who}: {reply.content}"
            assert not status.startswith("Closes <t:"), who
            if action != "close":
                assert await discord.balance(bob) > bob_balance, who
        else:
            assert_refused(reply, FORBIDDEN_SETTLE)
            assert status.startswith("Closes <t:"), who
            assert await discord.balance(bob) == bob_balance, who
    assert await discord.ledger_problems() == []


async def test_without_a_resolver_role_only_creators_and_managers_settle(
    discord: DiscordClient, alice: User, carol: User
) -> None:
    await discord.create_market(alice, "Will it rain?")
    with_role = carol.with_(roles=(ROLE_ID,))
    assert_refused(await discord.command(with_role, "market resolve", market="1", outcome="Yes"), FORBIDDEN_SETTLE)
    assert not (await discord.command(alice, "market resolve", market="1", outcome="Yes")).ephemeral


@pytest.mark.parametrize(("permissions", "allowed"), [("8", True), ("32", True), (PERM_MEMBER, False), ("0", False)])
async def test_who_may_use_admin_commands(
    discord: DiscordClient, admin: User, bob: User, permissions: str, allowed: bool
) -> None:
    who = User("700000000000000009", "someone", permissions=permissions)
    shown = await discord.command(who, "admin config")
    changed = await discord.command(who, "admin config", daily_bonus=5000, currency="gold")
    granted = await discord.command(who, "admin grant", user=bob, amount=10_000)
    current = await discord.command(admin, "admin config")
    if allowed:
        assert shown.embed["title"] == "Hunch settings"
        assert "Settings updated" in changed.content
        assert "Granted **10,000 gold**" in granted.content
        assert current.field("Daily bonus") == "5,000 gold"
        assert await discord.balance(bob) == 11_000
    else:
        for reply in (shown, changed, granted):
            assert_refused(reply, FORBIDDEN_ADMIN)
        assert current.field("Daily bonus") == "100 points"
        assert await discord.balance(bob) == 1000
    assert await discord.ledger_problems() == []


async def test_creator_role_restricts_market_creation(
    discord: DiscordClient, admin: User, manager: User, bob: User, carol: User
) -> None:
    await discord.command(admin, "admin config", creator_role=ROLE_ID)
    refused = await discord.command(bob, "market create", question="Can I?")
    assert_refused(refused, f"Only members with the <@&{ROLE_ID}> role can create markets")
    assert "No markets yet" in (await discord.command(bob, "market list", status="all")).content

    assert not (await discord.command(carol.with_(roles=(ROLE_ID,)), "market create", question="Role?")).ephemeral
    assert not (await discord.command(manager, "market create", question="Manager?")).ephemeral
    await discord.command(admin, "admin config", clear_creator_role=True)
    assert not (await discord.command(bob, "market create", question="Now?")).ephemeral


# --- rate limiting ---------------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter | None:
    if request.param == "redis":
        return request.getfixturevalue("redis_limiter")  # type: ignore[no-any-return]
    return None  # the default in-process limiter


async def test_trading_faster_than_the_limit_is_refused_and_changes_nothing(
    make_discord: MakeDiscord, limiter: RateLimiter | None, alice: User, bob: User, carol: User, admin: User
) -> None:
    discord = await make_discord(rate_limiter=limiter, TRADE_RATE_LIMIT=3, TRADE_RATE_WINDOW_SECONDS=60)
    await discord.create_market(alice, "Will it rain?")
    await discord.command(bob, "bet", market="1", outcome="Yes", amount=10)
    await discord.buy(bob, 1, 1, "10")
    await discord.command(bob, "sell", market="1", outcome="Yes")
    balance = await discord.balance(bob)

    started = int(time.time())
    for reply in (
        await discord.command(bob, "bet", market="1", outcome="Yes", amount=10),
        await discord.buy(bob, 1, 0, "10"),
        await discord.command(bob, "sell", market="1", outcome="No"),
    ):
        assert_refused(reply, "Slow down")
        retry = re.search(r"Try again <t:([0-9]+):R>", reply.content)
        assert retry and started < int(retry.group(1)) <= started + 62, reply.content
    assert await discord.balance(bob) == balance
    assert await discord.trade_count() == 3

    assert "Bought" in (await discord.command(carol, "bet", market="1", outcome="No", amount=10)).content
    for _ in range(5):  # server managers are not limited
        assert "Bought" in (await discord.command(admin, "bet", market="1", outcome="No", amount=10)).content
    assert await discord.trade_count() == 9


async def test_creating_markets_faster_than_the_limit_is_refused(
    make_discord: MakeDiscord, limiter: RateLimiter | None, bob: User, admin: User
) -> None:
    discord = await make_discord(rate_limiter=limiter, MARKET_CREATE_RATE_LIMIT=2)
    await discord.create_market(bob, "One?")
    await discord.create_market(bob, "Two?")
    assert_refused(await discord.command(bob, "market create", question="Three?"), "Slow down", "<t:")
    listing = await discord.command(bob, "market list")
    assert len(re.findall(r"\*\*#[0-9]+\*\*", listing.embed["description"])) == 2
    await discord.create_market(admin, "Admins are not limited?")


# --- duplicate delivery ---------------------------------------------------------------------------------------------


async def test_a_redelivered_bet_is_applied_once(discord: DiscordClient, alice: User, bob: User) -> None:
    await discord.create_market(alice, "Will it rain?")
    body = discord.signer.body(slash_command(bob, "bet", {"market": "1", "outcome": "Yes", "amount": 100}))
    first = await discord.send_body(body)
    second = await discord.send_body(body)
    assert "Bought" in first.content
    assert second.body == first.body
    assert await discord.trade_count() == 1
    assert await discord.balance(bob) == 900
    assert (await discord.command(bob, "market show", market="1")).field("Volume") == "100 points"


async def test_other_redelivered_interactions_are_applied_once(discord: DiscordClient, alice: User, bob: User) -> None:
    create = discord.signer.body(slash_command(alice, "market create", {"question": "Once?"}))
    give = discord.signer.body(slash_command(alice, "give", {"user": bob, "amount": 100}))
    daily = discord.signer.body(slash_command(bob, "daily"))
    for body in (create, give, daily):
        first = await discord.send_body(body)
        assert (await discord.send_body(body)).body == first.body
    listing = await discord.command(alice, "market list")
    assert len(re.findall(r"\*\*#[0-9]+\*\*", listing.embed["description"])) == 1
    assert await discord.balance(alice) == 900
    assert await discord.balance(bob) == 1200
    assert await discord.ledger_problems() == []
