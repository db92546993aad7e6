"""Settling a market: resolve it to one outcome, resolve it weighted, or cancel it with refunds.

Payouts follow the market maker's rules (`lmsr.settlement`), floored per member; whatever the pool holds
afterwards returns to the house, so a settled market holds nothing. However many members hold positions,
the payouts go to the books in a bounded number of statements (the ledger writes them as sets).
"""

from __future__ import annotations

import heapq
from enum import StrEnum

from app.domain import lmsr
from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.errors import ValidationError
from app.domain.events import MarketCancelled, MarketResolved, SettlementRequested
from app.domain.guild import GuildSettings
from app.domain.inputs import match_outcome, parse_weights
from app.domain.ledger import Transfer, TransferReason
from app.domain.market import Market, MarketStatus, Resolution, require_may_settle, require_may_unresolve
from app.services.markets import find_market, stop_trading
from app.services.ports import UnitOfWork, Work
from app.services.records import record_resolution
from app.services.results import TOP_PAYOUTS, Payout, Settlement, SettlementDeferred, market_view
from app.services.rows import Followup, Holding


async def _settleable(uow: UnitOfWork, actor: Actor, number: int) -> tuple[GuildSettings, Market]:
    guild = await uow.guilds.get(actor.guild_id)
    market = await find_market(uow, actor.guild_id, number, lock=True)
    require_may_settle(actor, market, guild.resolver_role_id)
    return guild, market


async def resolve_market(uow: UnitOfWork, actor: Actor, number: int, outcome: int | str) -> Settlement:
    """Pay each share of the winning `outcome` (its index or label) one point."""
    guild, market = await _settleable(uow, actor, number)
    outcome = match_outcome(market.outcomes, outcome)
    holdings = await uow.positions.holdings(market.id)
    payouts = lmsr.resolution_payouts({h.account_id: h.shares for h in holdings}, outcome)
    return await _settle(uow, actor, guild, market, holdings, payouts, {"outcome": outcome}, TransferReason.PAYOUT)


async def resolve_market_weighted(uow: UnitOfWork, actor: Actor, number: int, weights: str | list[int]) -> Settlement:
    """Pay each share its outcome's percentage; `weights` one per outcome, or as a member wrote them
    (`Red 70, Blue 30`)."""
    guild, market = await _settleable(uow, actor, number)
    if isinstance(weights, str):
        weights = parse_weights(weights, market.outcomes)
    if len(weights) != len(market.outcomes):
        raise ValidationError("Give a weight for each outcome.")
    holdings = await uow.positions.holdings(market.id)
    payouts = lmsr.weighted_payouts({h.account_id: h.shares for h in holdings}, weights)
    resolution = {"weights": list(weights)}
    return await _settle(uow, actor, guild, market, holdings, payouts, resolution, TransferReason.PAYOUT)


async def cancel_market(uow: UnitOfWork, actor: Actor, number: int, reason: str = "") -> Settlement:
    """Refund what each member paid in net of what they took out by selling (shrunk pro rata when traders
    who sold at a profit left the pool short)."""
    guild, market = await _settleable(uow, actor, number)
    holdings = await uow.positions.holdings(market.id)
    refunds = lmsr.cancellation_refunds({h.account_id: (h.paid_in, h.taken_out) for h in holdings})
    refunds = lmsr.scale_to_fit(refunds, await uow.accounts.balance(market.pool_account_id))
    return await _settle(uow, actor, guild, market, holdings, refunds, {"cancelled": reason}, TransferReason.REFUND)


async def _settle(
    uow: UnitOfWork,
    actor: Actor,
    guild: GuildSettings,
    market: Market,
    holdings: list[Holding],
    payouts: dict[int, int],
    resolution: Resolution,
    reason: TransferReason,
) -> Settlement:
    house = await uow.accounts.house(actor.guild_id)
    # Every account the settlement credits, locked in id order as trades lock them (the market is locked).
    balances = await uow.accounts.lock([house, market.pool_account_id, *payouts])
    held = balances[market.pool_account_id]
    total = sum(payouts.values())
    if total > held:  # the market maker's rounding makes this impossible; never pay what the pool lacks
        raise AssertionError(f"market {market.id} cannot pay {total} from {held}")
    transfers = [
        Transfer(market.pool_account_id, account, amount, reason, market.id) for account, amount in payouts.items()
    ]
    transfers.append(Transfer(market.pool_account_id, house, held - total, TransferReason.HOUSE_RETURN, market.id))
    uow.ledger.post(actor, transfers)
    await record_resolution(uow, market, holdings, payouts, resolution)
    status = MarketStatus.CANCELLED if reason is TransferReason.REFUND else MarketStatus.RESOLVED
    settled = await uow.markets.set_status(
        market, status, uow.now, settled_by=actor.user_id, resolution=resolution, total_paid=total
    )
    action = AuditAction.MARKET_CANCEL if status is MarketStatus.CANCELLED else AuditAction.MARKET_RESOLVE
    uow.ledger.audit(actor, action, market_id=market.id, number=market.number, total_paid=total, **resolution)
    users = {h.account_id: h.user_id for h in holdings}
    paid = [Payout(user_id=users[account], amount=amount) for account, amount in payouts.items() if amount > 0]
    top = heapq.nsmallest(TOP_PAYOUTS, paid, key=_largest_first)
    settled_event = MarketCancelled if status is MarketStatus.CANCELLED else MarketResolved
    uow.events.record(
        actor,
        settled_event(
            market.id,
            number=market.number,
            resolution=resolution,
            total_paid=total,
            paid_count=len(paid),
            top_payouts=[[p.user_id, p.amount] for p in top],
            answered_in=actor.channel_id,
        ),
    )
    await uow.flush()
    return Settlement(
        market=market_view(settled, guild.currency_name),
        payouts=top,
        paid_count=len(paid),
        total_paid=total,
        house_return=held - total,
        reason=resolution.get("cancelled"),
        mention_winners=guild.mention_winners,
    )


def _largest_first(payout: Payout) -> tuple[int, int]:
    return -payout.amount, payout.user_id


class SettlementKind(StrEnum):
    RESOLVE = "resolve"
    RESOLVE_WEIGHTED = "resolve_weighted"
    CANCEL = "cancel"
    UNRESOLVE = "unresolve"  # not a settlement, but as large as one: deferred the same way


async def holder_count(uow: UnitOfWork, guild_id: int, number: int) -> int:
    """How many members hold a position in the market (what a settlement has to pay)."""
    return await uow.positions.holder_count((await find_market(uow, guild_id, number)).id)


async def request_settlement(
    uow: UnitOfWork, actor: Actor, number: int, kind: SettlementKind, argument: str, followup: Followup
) -> SettlementDeferred:
    """Acknowledge a settlement the worker will do (`SettlementRequested`), after the same checks. An open
    market closes now: nobody may trade on a decision that has been taken but not yet paid out."""
    if kind is SettlementKind.UNRESOLVE:
        guild = await uow.guilds.get(actor.guild_id)
        market = await find_market(uow, actor.guild_id, number, lock=True)
        require_may_unresolve(actor, market, guild.resolver_role_id, guild.unresolve_window_seconds, uow.now)
    else:
        _, market = await _settleable(uow, actor, number)
    if kind is SettlementKind.RESOLVE:
        match_outcome(market.outcomes, argument)  # refused now, rather than once the worker gets to it
    elif kind is SettlementKind.RESOLVE_WEIGHTED:
        parse_weights(argument, market.outcomes)
    if market.status is MarketStatus.OPEN:
        await stop_trading(uow, actor, market, settling=kind.value)
    await uow.messages.keep(followup)
    uow.events.record(
        actor,
        SettlementRequested(
            market.id,
            number=number,
            kind=kind.value,
            argument=argument,
            user_id=actor.user_id,
            is_manager=actor.is_manager,
            role_ids=sorted(actor.role_ids),
            channel_id=actor.channel_id,
            requested_at=uow.now.isoformat(),
        ),
    )
    return SettlementDeferred(number=number, holders=await uow.positions.holder_count(market.id))


def settle(kind: SettlementKind, actor: Actor, number: int, argument: str) -> Work[Settlement]:
    """The settlement use case of `kind` (not `UNRESOLVE`: `unresolve.unresolve_market`), as a unit of work."""
    if kind is SettlementKind.RESOLVE:
        return lambda uow: resolve_market(uow, actor, number, argument)
    if kind is SettlementKind.RESOLVE_WEIGHTED:
        return lambda uow: resolve_market_weighted(uow, actor, number, argument)
    return lambda uow: cancel_market(uow, actor, number, argument)
