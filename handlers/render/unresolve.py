"""Replies of `/market unresolve` and `/market subsidize`, and the creator's reminder of a coming refund."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.discord import responses
from app.services.results import MarketView, SubsidyReceipt, Unresolved
from handlers.render import format as fmt
from handlers.render.market import market_data, market_embed
from models.discord.messages import MessageData


def undone_text(market: MarketView, undone: dict[str, Any]) -> str:
    """What the reversed settlement was, in words."""
    if "cancelled" in undone:
        return "cancellation"
    if "outcome" in undone and 0 <= undone["outcome"] < len(market.outcomes):
        return f"resolution ({fmt.truncate(market.outcomes[undone['outcome']], 50)})"
    return "weighted resolution"


def unresolved_text(unresolved: Unresolved) -> str:
    market, currency = unresolved.market, unresolved.market.currency
    lines = [f"↩️ **Market #{market.number} unresolved**: its {undone_text(market, unresolved.undone)} was undone."]
    if unresolved.reason:
        lines.append(f"Reason: {unresolved.reason}")
    if unresolved.members:
        taken = f"Took back the payouts of {unresolved.members:,} member(s)"
        if unresolved.shortfall:
            taken += f"; the house covered {fmt.points(unresolved.shortfall, currency)} they had already spent"
        lines.append(taken + ".")
    lines.append(
        "Trading is open again." if market.status == "open" else "The market is closed, awaiting a resolution."
    )
    return "\n".join(lines)


def unresolved_data(unresolved: Unresolved) -> MessageData:
    """The public notice (nobody pinged): what was undone, and the market as it is now."""
    return market_data(unresolved.market, unresolved_text(unresolved))


def subsidy_text(receipt: SubsidyReceipt) -> str:
    market, currency = receipt.market, receipt.currency
    return (
        f"💧 Added **{fmt.points(receipt.amount, currency)}** of liquidity to #{market.number}: "
        f"{fmt.points(receipt.liquidity_before, currency)} → **{fmt.points(market.liquidity, currency)}**, "
        f"prices unchanged.\nYour balance: **{fmt.points(receipt.balance, currency)}**."
    )


def refund_reminder_data(market: MarketView, creator_id: int, refund_at: datetime) -> MessageData:
    """The creator's reminder, pinging the creator and nobody else. It promises no amounts: a cancellation's
    refunds are scaled down when the pool cannot cover them all."""
    content = (
        f"⏳ <@{creator_id}>, market #{market.number} is closed and unresolved: it will be cancelled and its "
        f"stakes refunded {fmt.timestamp(refund_at)} unless it is resolved before then."
    )
    return responses.message_data(
        content, embeds=[market_embed(market)], allowed_mentions=responses.mentioning([str(creator_id)])
    )
