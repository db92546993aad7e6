"""Subsidising a market: a member adds liquidity from their balance, deepening the market without moving its
prices (`lmsr.subsidize`). The subsidy is a transfer from the member to the market's pool; like the house's
own liquidity, whatever the pool holds once the market settles returns to the house, so a subsidiser gets
nothing back but a deeper market."""

from __future__ import annotations

from app.domain import limits, lmsr
from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.errors import InsufficientBalance, MarketNotOpen, ValidationError
from app.domain.events import MarketSubsidized
from app.domain.ledger import Transfer, TransferReason
from app.services.accounts import member_account
from app.services.markets import find_market
from app.services.ports import UnitOfWork
from app.services.results import SubsidyReceipt, market_view


async def subsidize_market(uow: UnitOfWork, actor: Actor, number: int, amount: int) -> SubsidyReceipt:
    if not isinstance(amount, int) or not 1 <= amount <= limits.MAX_POINTS:
        raise ValidationError(f"The amount must be a whole number of points from 1 to {limits.MAX_POINTS:,}.")
    guild = await uow.guilds.get(actor.guild_id)
    currency = guild.currency_name
    market = await find_market(uow, actor.guild_id, number, lock=True)
    if not market.is_trading(uow.now):
        raise MarketNotOpen(f"Market #{number} is not open: only an open market can be subsidised.")
    member = await member_account(uow, guild, actor)  # opened on first touch (the house's row after the market's)
    # Under the market's lock, as a trade locks them: its pool and the member's account, in id order.
    balances = await uow.accounts.lock([market.pool_account_id, member.id])
    balance = balances[member.id]
    if amount > balance:
        raise InsufficientBalance(f"You only have {balance:,} {currency}, not {amount:,}.")
    pool = balances[market.pool_account_id]
    liquidity, maker = lmsr.subsidize(market.liquidity, market.maker_shares(), market.shares, pool, amount)
    shift = tuple(x - q for x, q in zip(maker, market.shares, strict=True))
    uow.ledger.post(actor, [Transfer(member.id, market.pool_account_id, amount, TransferReason.SUBSIDY, market.id)])
    deeper = await uow.markets.subsidize(market, liquidity, shift)
    uow.ledger.audit(
        actor,
        AuditAction.MARKET_SUBSIDIZE,
        market_id=market.id,
        number=number,
        amount=amount,
        liquidity_before=market.liquidity,
        liquidity=liquidity,
    )
    uow.events.record(
        actor, MarketSubsidized(market.id, number=number, user_id=actor.user_id, amount=amount, liquidity=liquidity)
    )
    await uow.flush()
    return SubsidyReceipt(
        market=market_view(deeper, currency),
        amount=amount,
        liquidity_before=market.liquidity,
        balance=balance - amount,
        currency=currency,
    )
