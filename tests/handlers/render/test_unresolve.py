"""The replies of `/market unresolve` and `/market subsidize`, and the stale market's reminder
(`handlers/render/unresolve.py`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from app.services.results import MarketView, SubsidyReceipt, Unresolved
from handlers.render.unresolve import refund_reminder_data, subsidy_text, unresolved_data, unresolved_text

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def view(status: str = "open") -> MarketView:
    return MarketView(
        id=1,
        guild_id=2,
        number=12,
        question="Red or blue?",
        description="",
        outcomes=["Red", "Blue"],
        probabilities=[Decimal("0.6"), Decimal("0.4")],
        shares=[Decimal(0), Decimal(0)],
        liquidity=1384,
        volume=300,
        trade_count=2,
        status=status,
        creator_id=5,
        channel_id=7,
        closes_at=NOW,
        created_at=NOW,
    )


def test_the_notice_says_what_was_undone_what_it_took_and_where_the_market_stands() -> None:
    text = unresolved_text(
        Unresolved(market=view(), undone={"outcome": 1}, reason="typo", reclaimed=40, shortfall=17, members=3)
    )
    assert text.splitlines() == [
        "↩️ **Market #12 unresolved**: its resolution (Blue) was undone.",
        "Reason: typo",
        "Took back the payouts of 3 member(s); the house covered 17 points they had already spent.",
        "Trading is open again.",
    ]
    weighted = Unresolved(market=view("closed"), undone={"weights": [50, 50]}, reclaimed=0, shortfall=0, members=0)
    assert unresolved_text(weighted).splitlines() == [
        "↩️ **Market #12 unresolved**: its weighted resolution was undone.",
        "The market is closed, awaiting a resolution.",
    ]
    cancelled = Unresolved(market=view(), undone={"cancelled": ""}, reclaimed=9, shortfall=0, members=1)
    data = unresolved_data(cancelled)
    assert "its cancellation was undone" in data["content"] and data["allowed_mentions"] == {"parse": []}


def test_the_reminder_pings_the_creator_and_nobody_else() -> None:
    data = refund_reminder_data(view("closed"), 5, NOW)
    assert data["content"] == (
        "⏳ <@5>, market #12 is closed and unresolved: it will be cancelled and its stakes refunded "
        f"<t:{int(NOW.timestamp())}:R> unless it is resolved before then."
    )  # no promise of every stake in full: a cancellation's refunds may be scaled down to what the pool holds
    assert data["allowed_mentions"] == {"parse": [], "users": ["5"]}


def test_the_subsidy_receipt() -> None:
    receipt = SubsidyReceipt(market=view(), amount=500, liquidity_before=1000, balance=700, currency="points")
    assert subsidy_text(receipt) == (
        "💧 Added **500 points** of liquidity to #12: 1,000 points → **1,384 points**, prices unchanged.\n"
        "Your balance: **700 points**."
    )
