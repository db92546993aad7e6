"""How Hunch looks in Discord: market embeds, buttons, receipts and summaries (pure functions)."""

from __future__ import annotations

from typing import Any

from app.services.views import MarketView, Settlement, TradeReceipt
from handlers import format as fmt

Json = dict[str, Any]

COLOR_OPEN = 0x5865F2
COLOR_CLOSED = 0xFEE75C
COLOR_RESOLVED = 0x57F287
COLOR_CANCELLED = 0x99AAB5
EMBED_TOTAL_LIMIT = 6000
BUTTON_ROW = 5


def market_title(market: MarketView) -> str:
    return fmt.truncate(f"#{market.number} · {market.question}", 256)


def market_choice(number: int, question: str) -> str:
    return fmt.truncate(f"#{number} · {question}", 100)


def outcome_lines(market: MarketView) -> str:
    lines = []
    winner = (market.resolution or {}).get("outcome")
    for index, (label, p) in enumerate(zip(market.outcomes, market.probabilities, strict=True)):
        mark = " ✅" if winner == index else ""
        lines.append(f"`{fmt.bar(p)}` **{fmt.percent(p)}** · {fmt.truncate(label, 50)}{mark}")
    return "\n".join(lines)


def _status_line(market: MarketView) -> str:
    if market.status == "open":
        return f"Closes {fmt.timestamp(market.closes_at)}"
    if market.status == "closed":
        return "Closed to trading, awaiting resolution"
    resolution = market.resolution or {}
    if market.status == "cancelled":
        return "Cancelled: stakes refunded"
    if "outcome" in resolution:
        return f"Resolved: {market.outcomes[resolution['outcome']]}"
    weights = resolution.get("weights") or []
    parts = [f"{label} {w}%" for label, w in zip(market.outcomes, weights, strict=False) if w]
    return "Resolved: " + ", ".join(parts)


def market_embed(market: MarketView) -> Json:
    colors = {"open": COLOR_OPEN, "closed": COLOR_CLOSED, "resolved": COLOR_RESOLVED, "cancelled": COLOR_CANCELLED}
    description = outcome_lines(market)
    if market.description:
        description = fmt.truncate(market.description, 1500) + "\n\n" + description
    embed: Json = {
        "title": market_title(market),
        "description": fmt.truncate(description, 4096),
        "color": colors.get(market.status, COLOR_OPEN),
        "fields": [
            {"name": "Volume", "value": fmt.points(market.volume, market.currency), "inline": True},
            {"name": "Trades", "value": f"{market.trade_count:,}", "inline": True},
            {"name": "Status", "value": _status_line(market), "inline": True},
            {"name": "Creator", "value": f"<@{market.creator_id}>", "inline": True},
        ],
        "footer": {"text": f"Market #{market.number} · prices from an LMSR market maker"},
        "timestamp": market.created_at.isoformat(),
    }
    return embed


def market_components(market: MarketView) -> list[Json]:
    is_open = market.status == "open"
    buttons = [
        {
            "type": 2,
            "style": 1,
            "label": fmt.truncate(f"Buy {label}", 80),
            "custom_id": f"buy:{market.number}:{index}",
            "disabled": not is_open,
        }
        for index, label in enumerate(market.outcomes)
    ]
    rows = [{"type": 1, "components": buttons[i : i + BUTTON_ROW]} for i in range(0, len(buttons), BUTTON_ROW)]
    rows.append(
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 2, "label": "Sell", "custom_id": f"sell:{market.number}", "disabled": not is_open},
                {"type": 2, "style": 2, "label": "Refresh", "custom_id": f"refresh:{market.number}"},
            ],
        }
    )
    return rows


def trade_receipt(receipt: TradeReceipt) -> str:
    market = receipt.market
    label = market.outcomes[receipt.outcome]
    money = fmt.points(receipt.points, receipt.currency)
    if receipt.side == "buy":
        head = f"✅ Bought **{fmt.shares(receipt.shares)}** of **{label}** in #{market.number} for **{money}**."
    else:
        head = f"✅ Sold **{fmt.shares(receipt.shares)}** of **{label}** in #{market.number} for **{money}**."
    return (
        f"{head}\n"
        f"{label} is now **{fmt.percent(receipt.probability_after)}** "
        f"(was {fmt.percent(receipt.probability_before)}).\n"
        f"You hold {fmt.shares(receipt.shares_held)} of {label}. "
        f"Your balance: **{fmt.points(receipt.balance, receipt.currency)}**."
    )


def settlement_embed(settlement: Settlement, limit: int = 15) -> Json:
    market = settlement.market
    currency = market.currency
    if market.status == "cancelled":
        title = f"Market #{market.number} cancelled"
        lines = [f"**{market.question}**"]
        if settlement.reason:
            lines.append(f"Reason: {settlement.reason}")
        verb = "Refunded"
    else:
        title = f"Market #{market.number} resolved"
        lines = [f"**{market.question}**", _status_line(market)]
        verb = "Paid out"
    winners = settlement.payouts[:limit]
    if winners:
        lines.append("")
        lines.extend(f"<@{p.user_id}> +{fmt.points(p.amount, currency)}" for p in winners)
        if len(settlement.payouts) > limit:
            lines.append(f"…and {len(settlement.payouts) - limit:,} more")
    else:
        lines.append("Nobody held a winning position.")
    lines.append("")
    lines.append(f"{verb} **{fmt.points(settlement.total_paid, currency)}** to {len(settlement.payouts):,} member(s).")
    color = COLOR_CANCELLED if market.status == "cancelled" else COLOR_RESOLVED
    return {"title": fmt.truncate(title, 256), "description": fmt.truncate("\n".join(lines), 4096), "color": color}
