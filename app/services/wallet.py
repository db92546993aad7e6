"""Points moving between members and the house: the daily bonus, gifts and admin grants."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.errors import InsufficientBalance, ValidationError
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import (
    Actor,
    Posting,
    accounts,
    audit,
    balance_of,
    get_guild,
    get_or_create_member,
    house_account_id,
    lock_house,
    post,
    require_admin,
)
from app.services.markets import as_utc
from app.services.views import DailyClaim, GiftReceipt

DAILY_PERIOD = timedelta(hours=24)
MAX_TRANSFER = 10**12


async def claim_daily(uow: UnitOfWork, actor: Actor) -> DailyClaim:
    guild = await get_guild(uow, actor.guild_id)
    member = await get_or_create_member(uow, guild, actor.user_id, actor.interaction_id)
    # The house pays the bonus: lock it before the member's row (lock order: house, then members).
    house = await lock_house(uow, actor.guild_id)
    # One conditional update decides the race: only one claim per period can match it.
    claimed = await uow.conn.scalar(
        sa.update(accounts)
        .where(
            accounts.c.id == member["id"],
            sa.or_(accounts.c.last_daily_at.is_(None), accounts.c.last_daily_at <= uow.now - DAILY_PERIOD),
        )
        .values(last_daily_at=uow.now)
        .returning(accounts.c.id)
    )
    if claimed is None:
        last = await uow.conn.scalar(sa.select(accounts.c.last_daily_at).where(accounts.c.id == member["id"]))
        assert last is not None  # the update only fails to match a claim made within the period
        return DailyClaim(
            claimed=False,
            amount=0,
            balance=member["balance"],
            next_claim_at=as_utc(last) + DAILY_PERIOD,
            currency=guild["currency_name"],
        )
    amount = int(guild["daily_bonus"])
    post(uow, actor.guild_id, [Posting(house, member["id"], amount, "daily_bonus")], actor.interaction_id)
    audit(uow, actor, "wallet.daily", amount=amount)
    await uow.flush()
    return DailyClaim(
        claimed=True,
        amount=amount,
        balance=await balance_of(uow, member["id"]),
        next_claim_at=uow.now + DAILY_PERIOD,
        currency=guild["currency_name"],
    )


def _check_amount(amount: int) -> None:
    if amount < 1:
        raise ValidationError("The amount must be at least 1.")
    if amount > MAX_TRANSFER:
        raise ValidationError("That amount is too large.")


async def give(uow: UnitOfWork, actor: Actor, to_user_id: int, amount: int) -> GiftReceipt:
    _check_amount(amount)
    if to_user_id == actor.user_id:
        raise ValidationError("You can't give points to yourself.")
    guild = await get_guild(uow, actor.guild_id)
    sender = await get_or_create_member(uow, guild, actor.user_id, actor.interaction_id)
    recipient = await get_or_create_member(uow, guild, to_user_id, actor.interaction_id)
    # Lock both accounts in id order, so two opposite gifts cannot deadlock.
    rows: dict[int, int] = dict(
        (
            await uow.conn.execute(
                sa.select(accounts.c.id, accounts.c.balance)
                .where(accounts.c.id.in_([sender["id"], recipient["id"]]))
                .order_by(accounts.c.id)
                .with_for_update()
            )
        ).all()
    )
    if rows[sender["id"]] < amount:
        raise InsufficientBalance(f"You only have {rows[sender['id']]:,} {guild['currency_name']}.")
    post(uow, actor.guild_id, [Posting(sender["id"], recipient["id"], amount, "gift")], actor.interaction_id)
    audit(uow, actor, "wallet.give", to_user_id=to_user_id, amount=amount)
    return GiftReceipt(
        from_user_id=actor.user_id,
        to_user_id=to_user_id,
        amount=amount,
        balance=rows[sender["id"]] - amount,
        recipient_balance=rows[recipient["id"]] + amount,
        currency=guild["currency_name"],
    )


async def grant(uow: UnitOfWork, actor: Actor, to_user_id: int, amount: int, reason: str = "") -> GiftReceipt:
    require_admin(actor)
    _check_amount(amount)
    guild = await get_guild(uow, actor.guild_id)
    recipient = await get_or_create_member(uow, guild, to_user_id, actor.interaction_id)
    house = await house_account_id(uow, actor.guild_id)
    post(uow, actor.guild_id, [Posting(house, recipient["id"], amount, "admin_grant")], actor.interaction_id)
    audit(uow, actor, "admin.grant", to_user_id=to_user_id, amount=amount, reason=reason)
    await uow.flush()
    balance = await balance_of(uow, recipient["id"])
    return GiftReceipt(
        from_user_id=actor.user_id,
        to_user_id=to_user_id,
        amount=amount,
        balance=balance,
        recipient_balance=balance,
        currency=guild["currency_name"],
        reason=reason or None,
    )
