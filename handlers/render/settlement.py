"""The public summary of a resolution or a cancellation."""

from __future__ import annotations

from app.discord import responses
from app.discord.responses import mentioning
from app.domain.market import MarketStatus
from app.services.results import Settlement, SettlementDeferred
from handlers.render import format as fmt
from handlers.render.market import status_line
from handlers.render.style import DESCRIPTION_LIMIT, GREEN, GREY, TITLE_LIMIT
from models.discord.enums import InteractionCallbackType
from models.discord.messages import Embed, InteractionResponse, MessageData

SHOWN_PAYOUTS = 15


def settlement_embed(settlement: Settlement, limit: int = SHOWN_PAYOUTS) -> Embed:
    market = settlement.market
    currency = market.currency
    cancelled = market.status == MarketStatus.CANCELLED
    if cancelled:
        title = f"Market #{market.number} cancelled"
        lines = [f"**{market.question}**"]
        if settlement.reason:
            lines.append(f"Reason: {settlement.reason}")
        verb = "Refunded"
    else:
        title = f"Market #{market.number} resolved"
        lines = [f"**{market.question}**", status_line(market)]
        verb = "Paid out"
    shown = settlement.payouts[:limit]
    if shown:
        lines.append("")
        lines.extend(f"<@{p.user_id}> +{fmt.points(p.amount, currency)}" for p in shown)
        if settlement.paid_count > len(shown):
            lines.append(f"…and {settlement.paid_count - len(shown):,} more")
    else:
        lines.append("Nobody held a winning position.")
    lines.append("")
    lines.append(f"{verb} **{fmt.points(settlement.total_paid, currency)}** to {settlement.paid_count:,} member(s).")
    return {
        "title": fmt.truncate(title, TITLE_LIMIT),
        "description": fmt.truncate("\n".join(lines), DESCRIPTION_LIMIT),
        "color": GREY if cancelled else GREEN,
    }


def settlement_data(settlement: Settlement) -> MessageData:
    """The summary as a message; when the server wants it, the winners it names are pinged (and only them)."""
    shown = settlement.payouts[:SHOWN_PAYOUTS]
    if settlement.mention_winners and shown:
        users = [str(p.user_id) for p in shown]
        content = " ".join(f"<@{u}>" for u in users)
        return responses.message_data(
            content, embeds=[settlement_embed(settlement)], allowed_mentions=mentioning(users)
        )
    return responses.message_data(embeds=[settlement_embed(settlement)])


def settlement_reply(settled: Settlement | SettlementDeferred) -> InteractionResponse:
    if isinstance(settled, SettlementDeferred):
        return responses.deferred()
    return {"type": InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE, "data": settlement_data(settled)}
