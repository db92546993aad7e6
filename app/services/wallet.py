"""Points moving between members and the house: the daily bonus, gifts and grants by managers."""

from __future__ import annotations

from app.domain import limits
from app.domain.actor import Actor, require_manager
from app.domain.audit import AuditAction
from app.domain.errors import InsufficientBalance, ValidationError
from app.domain.events import DailyClaimed, PointsGiven, PointsGranted
from app.domain.ledger import Transfer, TransferReason
from app.domain.market import as_utc
from app.services.accounts import account_of, member_account
from app.services.ports import UnitOfWork
from app.services.results import DailyClaim, GiftReceipt


async def claim_daily(uow: UnitOfWork, actor: Actor) -> DailyClaim:
    guild = await uow.guilds.get(actor.guild_id)
    member = await member_account(uow, guild, actor)
    # The house pays the bonus: lock it before the member's row (lock order: house, then members).
    house = await uow.accounts.house(actor.guild_id, lock=True)
    # One conditional update decides the race: only one claim per period can match it.
    if not await uow.accounts.claim_daily(member.id, uow.now, uow.now - limits.DAILY_PERIOD):
        last = (await uow.accounts.member(actor.guild_id, actor.user_id) or member).last_daily_at
        assert last is not None  # the claim only fails when one was made within the period
        return DailyClaim(
            claimed=False,
            amount=0,
            balance=member.balance,
            next_claim_at=as_utc(last) + limits.DAILY_PERIOD,
            currency=guild.currency_name,
        )
    amount = guild.daily_bonus
    uow.ledger.post(actor, [Transfer(house, member.id, amount, TransferReason.DAILY_BONUS)])
    uow.ledger.audit(actor, AuditAction.DAILY, amount=amount)
    uow.events.record(actor, DailyClaimed(member.id, user_id=actor.user_id, amount=amount))
    await uow.flush()
    return DailyClaim(
        claimed=True,
        amount=amount,
        balance=await uow.accounts.balance(member.id),
        next_claim_at=uow.now + limits.DAILY_PERIOD,
        currency=guild.currency_name,
    )


def _check_amount(amount: int) -> None:
    if amount < 1:
        raise ValidationError("The amount must be at least 1.")
    if amount > limits.MAX_POINTS:
        raise ValidationError("That amount is too large.")


async def give(uow: UnitOfWork, actor: Actor, to_user_id: int, amount: int) -> GiftReceipt:
    _check_amount(amount)
    if to_user_id == actor.user_id:
        raise ValidationError("You can't give points to yourself.")
    guild = await uow.guilds.get(actor.guild_id)
    sender = await member_account(uow, guild, actor)
    recipient = await account_of(uow, guild, to_user_id, actor.interaction_id)
    balances = await uow.accounts.lock([sender.id, recipient.id])  # in id order: opposite gifts can't deadlock
    if balances[sender.id] < amount:
        raise InsufficientBalance(f"You only have {balances[sender.id]:,} {guild.currency_name}.")
    uow.ledger.post(actor, [Transfer(sender.id, recipient.id, amount, TransferReason.GIFT)])
    uow.ledger.audit(actor, AuditAction.GIFT, to_user_id=to_user_id, amount=amount)
    uow.events.record(actor, PointsGiven(sender.id, user_id=actor.user_id, to_user_id=to_user_id, amount=amount))
    return GiftReceipt(
        from_user_id=actor.user_id,
        to_user_id=to_user_id,
        amount=amount,
        balance=balances[sender.id] - amount,
        recipient_balance=balances[recipient.id] + amount,
        currency=guild.currency_name,
    )


async def grant(uow: UnitOfWork, actor: Actor, to_user_id: int, amount: int, reason: str = "") -> GiftReceipt:
    require_manager(actor)
    _check_amount(amount)
    guild = await uow.guilds.get(actor.guild_id)
    recipient = await account_of(uow, guild, to_user_id, actor.interaction_id)
    house = await uow.accounts.house(actor.guild_id)
    uow.ledger.post(actor, [Transfer(house, recipient.id, amount, TransferReason.ADMIN_GRANT)])
    uow.ledger.audit(actor, AuditAction.GRANT, to_user_id=to_user_id, amount=amount, reason=reason)
    granted = PointsGranted(recipient.id, user_id=to_user_id, by_user_id=actor.user_id, amount=amount, reason=reason)
    uow.events.record(actor, granted)
    await uow.flush()
    balance = await uow.accounts.balance(recipient.id)
    return GiftReceipt(
        from_user_id=actor.user_id,
        to_user_id=to_user_id,
        amount=amount,
        balance=balance,
        recipient_balance=balance,
        currency=guild.currency_name,
        reason=reason or None,
    )
