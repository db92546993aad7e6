"""What a member sees when trading: the receipt, the forms asking how much, and their shares to sell."""

from __future__ import annotations

from decimal import Decimal

from app.discord import components, responses
from app.discord.custom_ids import Action, encode
from app.services.results import Portfolio, PositionView, TradeReceipt
from handlers.render import format as fmt
from models.discord.enums import ButtonStyle
from models.discord.messages import InteractionResponse

AMOUNT_FIELD = "amount"
SHARES_FIELD = "shares"


def trade_receipt(receipt: TradeReceipt) -> InteractionResponse:
    market = receipt.market
    label = market.outcomes[receipt.outcome]
    money = fmt.points(receipt.points, receipt.currency)
    verb = "Bought" if receipt.side == "buy" else "Sold"
    return responses.ephemeral(
        f"✅ {verb} **{fmt.shares(receipt.shares)}** of **{label}** in #{market.number} for **{money}**.\n"
        f"{label} is now **{fmt.percent(receipt.probability_after)}** "
        f"(was {fmt.percent(receipt.probability_before)}).\n"
        f"You hold {fmt.shares(receipt.shares_held)} of {label}. "
        f"Your balance: **{fmt.points(receipt.balance, receipt.currency)}**."
    )


def buy_form(number: int, outcome: int, label: str, probability: Decimal) -> InteractionResponse:
    return responses.modal(
        encode(Action.BUY_MODAL, number, outcome),
        f"Buy {label}",
        [
            components.text_input(
                AMOUNT_FIELD,
                f"Points to stake on {label} ({fmt.percent(probability)} now)",
                placeholder="e.g. 100, 1,000, 1k or all",
                max_length=20,
            )
        ],
    )


def sell_form(number: int, outcome: int, label: str) -> InteractionResponse:
    return responses.modal(
        encode(Action.SELL_MODAL, number, outcome),
        f"Sell {label}",
        [
            components.text_input(
                SHARES_FIELD, "Shares to sell (or all)", placeholder="e.g. 10, 2.5 or all", value="all", max_length=20
            )
        ],
    )


def holdings_to_sell(number: int, held: list[PositionView], holdings: Portfolio) -> InteractionResponse:
    if not held:
        return responses.ephemeral(f"You hold no shares in market #{number}.")
    lines = [
        f"**{p.outcome_label}**: {fmt.shares(p.shares)} (worth about {fmt.points(p.value, holdings.currency)})"
        for p in held
    ]
    buttons = [
        components.button(f"Sell {p.outcome_label}", encode(Action.SELL_PICK, number, p.outcome), ButtonStyle.DANGER)
        for p in held
    ]
    return responses.ephemeral(f"Your shares in #{number}:\n" + "\n".join(lines), components=components.rows(buttons))
