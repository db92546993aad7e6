"""Balances, portfolios, the leaderboard, the daily bonus and gifts, as members read them."""

from __future__ import annotations

from app.discord import responses
from app.services.results import DailyClaim, GiftReceipt, Leaderboard, Portfolio
from handlers.render import format as fmt
from handlers.render.style import BLURPLE, DESCRIPTION_LIMIT, GREEN
from models.discord.messages import Embed, InteractionResponse

SHOWN_POSITIONS = 20
NAME_LIMIT = 32  # Discord's longest display name
MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}


def balance(user_id: int, own: bool, amount: int, currency: str) -> InteractionResponse:
    whose = "Your balance" if own else f"<@{user_id}>'s balance"
    return responses.ephemeral(f"{whose}: **{fmt.points(amount, currency)}**")


def portfolio(view: Portfolio, own: bool) -> InteractionResponse:
    lines = [f"Cash: **{fmt.points(view.balance, view.currency)}**"]
    total_value = 0
    for p in view.positions[:SHOWN_POSITIONS]:
        total_value += p.value
        lines.append(
            f"**#{p.market_number}** {fmt.truncate(p.question, 60)} · **{fmt.truncate(p.outcome_label, 40)}**\n"
            f"  {fmt.shares(p.shares)} · worth {fmt.points(p.value, view.currency)} · "
            f"P/L {fmt.signed_points(p.profit, view.currency)}"
        )
    if not view.positions:
        lines.append("No open positions. Try /market list and /bet.")
    else:
        lines.append(f"Positions worth **{fmt.points(total_value, view.currency)}** if sold now.")
    heading = "" if own else f"<@{view.user_id}>\n"
    embed: Embed = {
        "title": "Your portfolio" if own else "Portfolio",
        "description": fmt.truncate(heading + "\n".join(lines), DESCRIPTION_LIMIT),
        "color": BLURPLE,
    }
    return responses.message(embeds=[embed], ephemeral=True)


def leaderboard(board: Leaderboard, asker_id: int, asker_name: str) -> InteractionResponse:
    if not board.entries:
        return responses.message("Nobody has played yet. Be the first: /daily, then /bet.")
    lines = []
    for rank, entry in enumerate(board.entries, start=1):
        shown = fmt.truncate(asker_name, NAME_LIMIT)
        mention = f"<@{entry.user_id}>" + (f" ({shown})" if entry.user_id == asker_id else "")
        lines.append(f"{MEDALS.get(rank, f'**{rank}.**')} {mention}: **{fmt.points(entry.balance, board.currency)}**")
    embed: Embed = {
        "title": "Leaderboard",
        "description": fmt.truncate("\n".join(lines), DESCRIPTION_LIMIT),
        "color": GREEN,
    }
    return responses.message(embeds=[embed])


def daily(claim: DailyClaim) -> InteractionResponse:
    if not claim.claimed:
        return responses.ephemeral(
            f"You already claimed today's bonus. The next one opens {fmt.timestamp(claim.next_claim_at)} "
            f"({fmt.timestamp(claim.next_claim_at, 'f')})."
        )
    return responses.ephemeral(
        f"🎁 You claimed **{fmt.points(claim.amount, claim.currency)}**. "
        f"Balance: **{fmt.points(claim.balance, claim.currency)}**. Come back {fmt.timestamp(claim.next_claim_at)}."
    )


def gift(receipt: GiftReceipt) -> InteractionResponse:
    return responses.ephemeral(
        f"💸 You gave **{fmt.points(receipt.amount, receipt.currency)}** to <@{receipt.to_user_id}>. "
        f"Your balance: **{fmt.points(receipt.balance, receipt.currency)}**."
    )


def grant(receipt: GiftReceipt) -> InteractionResponse:
    return responses.ephemeral(
        f"✅ Granted **{fmt.points(receipt.amount, receipt.currency)}** to <@{receipt.to_user_id}>"
        + (f" ({receipt.reason})" if receipt.reason else "")
        + f". Their balance: **{fmt.points(receipt.recipient_balance, receipt.currency)}**."
    )
