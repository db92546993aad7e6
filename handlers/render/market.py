"""A market's public message: the embed with its prices, and its buttons."""

from __future__ import annotations

from app.discord import components, responses
from app.discord.custom_ids import Action, encode
from app.domain.market import MarketStatus
from app.services.results import MarketView
from handlers.render import format as fmt
from handlers.render.style import BLURPLE, DESCRIPTION_LIMIT, STATUS_COLORS, TITLE_LIMIT
from models.discord.enums import ButtonStyle
from models.discord.messages import ActionRow, Embed, InteractionResponse, MessageData

CHOICE_LIMIT = 100


def market_title(market: MarketView) -> str:
    return fmt.truncate(f"#{market.number} · {market.question}", TITLE_LIMIT)


def market_choice(number: int, question: str) -> str:
    """A market as an autocomplete choice."""
    return fmt.truncate(f"#{number} · {question}", CHOICE_LIMIT)


def outcome_lines(market: MarketView) -> str:
    lines = []
    winner = (market.resolution or {}).get("outcome")
    for index, (label, p) in enumerate(zip(market.outcomes, market.probabilities, strict=True)):
        mark = " ✅" if winner == index else ""
        lines.append(f"`{fmt.bar(p)}` **{fmt.percent(p)}** · {fmt.truncate(label, 50)}{mark}")
    return "\n".join(lines)


def status_line(market: MarketView) -> str:
    status = MarketStatus(market.status)
    if status is MarketStatus.OPEN:
        return f"Closes {fmt.timestamp(market.closes_at)}"
    if status is MarketStatus.CLOSED:
        return "Closed to trading, awaiting resolution"
    if status is MarketStatus.CANCELLED:
        return "Cancelled: stakes refunded"
    resolution = market.resolution or {}
    if "outcome" in resolution:
        return f"Resolved: {market.outcomes[resolution['outcome']]}"
    weights = resolution.get("weights") or []
    parts = [f"{label} {w}%" for label, w in zip(market.outcomes, weights, strict=False) if w]
    return "Resolved: " + ", ".join(parts)


def market_embed(market: MarketView) -> Embed:
    description = outcome_lines(market)
    if market.description:
        description = fmt.truncate(market.description, 1500) + "\n\n" + description
    return {
        "title": market_title(market),
        "description": fmt.truncate(description, DESCRIPTION_LIMIT),
        "color": STATUS_COLORS.get(MarketStatus(market.status), BLURPLE),
        "fields": [
            {"name": "Volume", "value": fmt.points(market.volume, market.currency), "inline": True},
            {"name": "Trades", "value": f"{market.trade_count:,}", "inline": True},
            {"name": "Status", "value": status_line(market), "inline": True},
            {"name": "Creator", "value": f"<@{market.creator_id}>", "inline": True},
        ],
        "footer": {"text": f"Market #{market.number} · prices from an LMSR market maker"},
        "timestamp": market.created_at.isoformat(),
    }


def market_components(market: MarketView) -> list[ActionRow]:
    """An open market's Buy, Sell and Refresh buttons; once it closes its trading buttons go, and once it is
    settled there is nothing left to press."""
    status = MarketStatus(market.status)
    refresh = components.button("Refresh", encode(Action.REFRESH, market.number))
    if status.is_settled:
        return []
    if status is MarketStatus.CLOSED:
        return components.rows([refresh])
    buys = [
        components.button(f"Buy {label}", encode(Action.BUY, market.number, index), ButtonStyle.PRIMARY)
        for index, label in enumerate(market.outcomes)
    ]
    return [
        *components.rows(buys),
        *components.rows([components.button("Sell", encode(Action.SELL, market.number)), refresh]),
    ]


def market_data(market: MarketView, content: str | None = None) -> MessageData:
    """The market message's body, for a reply or an edit."""
    return responses.message_data(content, embeds=[market_embed(market)], components=market_components(market))


def market_message(market: MarketView, *, ephemeral: bool = False, content: str | None = None) -> InteractionResponse:
    return responses.message(
        content, embeds=[market_embed(market)], components=market_components(market), ephemeral=ephemeral
    )


def market_update(market: MarketView) -> InteractionResponse:
    """The market message redrawn in place (a click on one of its buttons)."""
    return responses.update(embeds=[market_embed(market)], components=market_components(market))


def market_list(markets: list[MarketView], status: str) -> InteractionResponse:
    if not markets:
        return responses.ephemeral(
            f"No {'' if status == 'all' else status + ' '}markets yet. Start one with /market create."
        )
    lines = []
    for market in markets:
        leader = max(range(len(market.outcomes)), key=lambda i: market.probabilities[i])
        lines.append(
            f"**#{market.number}** {fmt.truncate(market.question, 90)}\n"
            f"  {market.outcomes[leader]} {fmt.percent(market.probabilities[leader])} · "
            f"{fmt.points(market.volume, market.currency)} volume · {market.status}"
            + (f" · closes {fmt.timestamp(market.closes_at)}" if market.status == MarketStatus.OPEN else "")
        )
    title = "All markets" if status == "all" else f"{status.capitalize()} markets"
    embed: Embed = {"title": title, "description": fmt.truncate("\n".join(lines), DESCRIPTION_LIMIT), "color": BLURPLE}
    return responses.message(embeds=[embed], ephemeral=True)
