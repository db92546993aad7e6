"""A whole market's life through the real app, as a server would live it: created, found by autocomplete, traded
by buttons and modals and by /bet from several members, sold, refused when someone types nonsense or tries to
resolve without the right, closed, resolved with exact payouts, and ranked; and a second market cancelled with
every stake refunded exactly. The books must balance at the end.
"""

from __future__ import annotations

import re
from decimal import Decimal

from tests.support.discord_payloads import (
    AUTOCOMPLETE_RESULT,
    MODAL,
    UPDATE_MESSAGE,
    DiscordClient,
    Reply,
    User,
)

FORBIDDEN_SETTLE = "Only the market's creator, a resolver or a server manager"


def holding(receipt: Reply) -> Decimal:
    match = re.search(r"You hold ([0-9,]+\.[0-9]{2}) shares of (.+?)\.", receipt.content)
    assert match, receipt.content
    return Decimal(match.group(1).replace(",", ""))


def points_of(receipt: Reply) -> int:
    match = re.search(r"for \*\*([0-9,]+) points?\*\*", receipt.content)
    assert match, receipt.content
    return int(match.group(1).replace(",", ""))


def refused(reply: Reply, fragment: str) -> None:
    assert reply.ephemeral and fragment.lower() in reply.content.lower(), reply.content


class Ledger:
    """What each member should hold, kept from the receipts the app sent them."""

    def __init__(self) -> None:
        self.balance: dict[str, int] = {}
        self.shares: dict[tuple[str, str], Decimal] = {}
        self.trades = 0

    def record(self, user: User, outcome: str, receipt: Reply) -> None:
        assert receipt.ephemeral, receipt.body
        assert f"of **{outcome}** in #" in receipt.content, receipt.content
        side = 1 if "Bought" in receipt.content else -1
        before = self.balance[user.id]
        assert receipt.balance == before - side * points_of(receipt), receipt.content
        self.balance[user.id] = receipt.balance
        self.shares[(user.id, outcome)] = holding(receipt)
        self.trades += 1


async def test_a_market_from_creation_to_payout(
    discord: DiscordClient, alice: User, bob: User, carol: User, manager: User
) -> None:
    dave = User("623456789012345678", "dave", "Dave")
    erin = User("634567890123456789", "erin", "Erin", roles=("1403111146944467114",))
    ledger = Ledger()
    for member in (bob, carol, dave):
        ledger.balance[member.id] = await discord.balance(member)
    assert set(ledger.balance.values()) == {1000}

    # -- alice opens a market; everyone sees it ----------------------------------------------------------------------
    market = await discord.command(
        alice,
        "market create",
        question="Will the harbour bridge reopen by June?",
        outcomes="Yes, No, Delayed",
        liquidity=300,
        closes_in="3d",
        description="Resolves on the council's announcement.",
    )
    assert not market.ephemeral and market.embed["title"] == "#1 · Will the harbour bridge reopen by June?"
    assert market.embed["description"].count("**33.3%**") == 3

    # -- bob finds it by autocomplete and buys Yes with the button ------------------------------------------------
    found = await discord.autocomplete(bob, "bet", "market", market="harbour bridge")
    assert found.type == AUTOCOMPLETE_RESULT
    assert found.choices == [{"name": "#1 · Will the harbour bridge reopen by June?", "value": "1"}]
    outcomes = await discord.autocomplete(bob, "bet", "outcome", market="1", outcome="")
    assert [c["name"] for c in outcomes.choices] == ["Yes · 33.3%", "No · 33.3%", "Delayed · 33.3%"]

    modal = await discord.click(bob, "buy:1:0", on=market)
    assert modal.type == MODAL and modal.data["title"] == "Buy Yes"
    ledger.record(bob, "Yes", await discord.submit(bob, modal, {"amount": "250"}))

    # -- carol buys No with the button (a Label modal), dave bets Delayed with /bet, bob adds with /bet -----------
    ledger.record(carol, "No", await discord.buy(carol, 1, 1, "1k", label=True))
    carol_no = ledger.shares[(carol.id, "No")]
    ledger.record(dave, "Delayed", await discord.command(dave, "bet", market="1", outcome="Delayed", amount=150))
    ledger.record(bob, "Yes", await discord.command(bob, "bet", market="#1", outcome="yes", amount=100))
    ledger.record(dave, "Yes", await discord.buy(dave, 1, 0, "300"))
    assert ledger.balance[carol.id] == 0

    # -- people type nonsense; nothing changes --------------------------------------------------------------------
    for typed, fragment in [
        ("abc", "isn't an amount"),
        ("12.5", "no decimals"),
        ("-5", "more than zero"),
        ("0", "more than zero"),
        ("1e9", "isn't an amount"),
        ("9,999", "only have"),
    ]:
        refused(await discord.buy(bob, 1, 2, typed), fragment)
    refused(await discord.buy(carol, 1, 0, "1"), "only have 0")
    refused(await discord.buy(carol, 1, 0, "all"), "no points")
    refused(await discord.command(dave, "bet", market="1", outcome="Maybe", amount=5), "not an outcome")
    refused(await discord.command(dave, "bet", market="7", outcome="Yes", amount=5), "no market #7")
    for member in (bob, carol, dave):
        assert await discord.balance(member) == ledger.balance[member.id]
    assert await discord.trade_count() == ledger.trades

    # -- carol takes some profit off the table; dave changes his mind about Delayed -----------------------------
    ledger.record(carol, "No", await discord.command(carol, "sell", market="1", outcome="No", shares=200.0))
    assert ledger.shares[(carol.id, "No")] == carol_no - 200
    holdings = await discord.click(dave, "sell:1", on=market)
    assert holdings.ephemeral and [b["label"] for b in holdings.buttons] == ["Sell Yes", "Sell Delayed"]
    sell_modal = await discord.click(dave, "sellpick:1:2", on=holdings)
    assert sell_modal.type == MODAL and sell_modal.data["title"] == "Sell Delayed"
    ledger.record(dave, "Delayed", await discord.submit(dave, sell_modal, {"shares": "all"}))
    assert ledger.shares[(dave.id, "Delayed")] == 0

    portfolio = await discord.command(carol, "portfolio")
    assert portfolio.ephemeral and "**#1** Will the harbour bridge reopen by June? · **No**" in portfolio.text
    assert f"{ledger.shares[(carol.id, 'No')]:,.2f} shares" in portfolio.text
    assert f"Cash: **{ledger.balance[carol.id]:,} points**" in portfolio.text

    refreshed = await discord.click(erin, "refresh:1", on=market)
    assert refreshed.type == UPDATE_MESSAGE
    assert refreshed.field("Trades") == str(ledger.trades)
    yes, no, delayed = (float(p) for p in re.findall(r"\*\*([0-9.]+)%\*\*", refreshed.embed["description"]))
    assert yes > no > delayed

    # -- only the creator, a resolver or a manager may settle ---------------------------------------------------
    refused(await discord.command(erin, "market resolve", market="1", outcome="No"), FORBIDDEN_SETTLE)
    refused(await discord.command(bob, "market resolve-weighted", market="1", weights="Yes 100"), FORBIDDEN_SETTLE)
    refused(await discord.command(dave, "market cancel", market="1"), FORBIDDEN_SETTLE)
    refused(await discord.command(carol, "market close", market="1"), FORBIDDEN_SETTLE)

    closed = await discord.command(alice, "market close", market="1")
    assert not closed.ephemeral and "closed to trading" in closed.content
    refused(await discord.command(bob, "bet", market="1", outcome="No", amount=10), "closed")
    refused(await discord.click(bob, "buy:1:1", on=market), "closed")
    for member in (bob, carol, dave):
        assert await discord.balance(member) == ledger.balance[member.id]
    assert await discord.trade_count() == ledger.trades

    # -- a manager resolves it: every Yes holder gets floor(shares), nobody else anything ----------------------
    expected = {
        member.id: int(ledger.shares.get((member.id, "Yes"), Decimal(0)))  # floor: shares are positive
        for member in (bob, carol, dave)
    }
    expected = {user_id: amount for user_id, amount in expected.items() if amount}
    assert set(expected) == {bob.id, dave.id}
    settled = await discord.command(manager, "market resolve", market="1", outcome="Yes")
    assert not settled.ephemeral
    summary = settled.embed["description"]
    assert settled.embed["title"] == "Market #1 resolved" and "Resolved: Yes" in summary
    named = dict(re.findall(r"<@([0-9]+)> \+([0-9,]+) points", summary))
    assert {k: int(v.replace(",", "")) for k, v in named.items()} == expected
    total = sum(expected.values())
    assert f"Paid out **{total:,} points** to 2 member(s)." in summary
    for member in (bob, carol, dave):
        ledger.balance[member.id] += expected.get(member.id, 0)
        assert await discord.balance(member) == ledger.balance[member.id], member.username

    # -- the leaderboard ranks by balance ---------------------------------------------------------------------
    board = await discord.command(erin, "leaderboard")
    assert not board.ephemeral
    ranked = re.findall(r"<@([0-9]+)>", board.embed["description"])
    by_balance = sorted(ledger.balance, key=lambda user_id: -ledger.balance[user_id])
    assert len(set(ledger.balance.values())) == 3  # no ties, so the order is fixed
    assert ranked == by_balance
    assert await discord.ledger_problems() == []


async def test_a_cancelled_market_refunds_every_stake_exactly(
    discord: DiscordClient, alice: User, bob: User, carol: User, admin: User
) -> None:
    dave = User("623456789012345678", "dave", "Dave")
    await discord.command(admin, "admin grant", user=carol, amount=500, reason="Prize")
    await discord.create_market(alice, "Warm-up market?")  # other activity in the guild is untouched
    await discord.command(dave, "bet", market="1", outcome="No", amount=40)

    start = {member.id: await discord.balance(member) for member in (bob, carol, dave)}
    market = await discord.command(alice, "market create", question="Will the fair be held?", outcomes="Yes, No")
    staked = {bob.id: 0, carol.id: 0, dave.id: 0}

    receipt = await discord.buy(bob, 2, 0, "333")
    staked[bob.id] += points_of(receipt)
    receipt = await discord.command(bob, "bet", market="2", outcome="No", amount=77)
    staked[bob.id] += points_of(receipt)
    receipt = await discord.buy(carol, 2, 1, "1,250", label=True)
    staked[carol.id] += points_of(receipt)
    receipt = await discord.command(dave, "bet", market="2", outcome="Yes", amount=500)
    staked[dave.id] += points_of(receipt)
    sold = await discord.command(dave, "sell", market="2", outcome="Yes", shares=100.0)
    staked[dave.id] -= points_of(sold)  # what he already took back
    refused(await discord.command(carol, "market cancel", market="2"), FORBIDDEN_SETTLE)

    cancelled = await discord.command(alice, "market cancel", market="2", reason="Rained off")
    assert not cancelled.ephemeral
    text = cancelled.embed["description"]
    assert cancelled.embed["title"] == "Market #2 cancelled" and "Reason: Rained off" in text
    refunds = {k: int(v.replace(",", "")) for k, v in re.findall(r"<@([0-9]+)> \+([0-9,]+) points", text)}
    assert refunds == staked
    assert f"Refunded **{sum(staked.values()):,} points** to 3 member(s)." in text
    for member in (bob, carol, dave):
        assert await discord.balance(member) == start[member.id], member.username

    refreshed = await discord.click(bob, "refresh:2", on=market)
    assert refreshed.field("Status") == "Cancelled: stakes refunded"
    assert "Closes <t:" in (await discord.command(bob, "market show", market="1")).field("Status")
    assert await discord.trade_count() == 6
    assert await discord.ledger_problems() == []
