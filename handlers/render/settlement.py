"""The public summary of a resolution or a cancellation."""

from __future__ import annotations

from app.discord import responses
from app.domain.market import MarketStatus
from app.services.results import Settlement
from handlers.render import format as fmt
from handlers.render.market import status_line
from handlers.render.style import DESCRIPTION_LIMIT, GREEN, GREY, TITLE_LIMIT
from models.discord.messages import Embed, InteractionResponse

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


def settlement_message(settlement: Settlement) -> InteractionResponse:
    return responses.message(embeds=[settlement_embed(settlement)])
