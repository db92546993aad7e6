"""Unresolving a market: its settlement reversed by compensating transfers, the market open or closed again.

The ledger is append-only, so nothing is deleted: every member the settlement paid gives the payout back to
the market's pool, and the house gives back what the pool returned to it. A member who has already spent
some of their payout cannot go below zero: the house pays the part they no longer have (a `shortfall`
transfer from the house to the member, just before the member's payout goes back), so the pool holds again
exactly what it held before the settlement, and the market can be settled again, any number of times.

However many members were paid, the reversal is the same few statements: one read of the settlement's net
flows (off a partial index of settlement transfers), one lock of the accounts, and the transfers and balance
changes written as sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.events import MarketUnresolved
from app.domain.ledger import Transfer, TransferReason
from app.domain.market import Market, MarketStatus, as_utc, require_may_unresolve
from app.services.markets import find_market
from app.services.ports import UnitOfWork
from app.services.results import Unresolved, market_view


@dataclass(frozen=True, slots=True)
class Reversal:
    transfers: list[Transfer]
    reclaimed: int  # points taken back from the members
    shortfall: int  # points the house paid for what members had spent
    members: int


def reversal(market: Market, house: int, settled: dict[int, int], balances: dict[int, int]) -> Reversal:
    """The transfers that undo a settlement: `settled` maps each account to what the settlement paid it out of
    the pool (the house's return included), `balances` are the members' balances now."""
    pool = market.pool_account_id
    moves: list[Transfer] = []
    reclaimed = shortfall = members = 0
    for account, paid in sorted(settled.items()):
        if account == house or paid <= 0:
            continue
        members += 1
        missing = max(paid - balances[account], 0)
        if missing:
            moves.append(Transfer(house, account, missing, TransferReason.SHORTFALL, market.id))
        moves.append(Transfer(account, pool, paid, TransferReason.UNRESOLVE, market.id))
        reclaimed += paid - missing
        shortfall += missing
    moves.append(Transfer(house, pool, settled.get(house, 0), TransferReason.UNRESOLVE, market.id))
    return Reversal(moves, reclaimed, shortfall, members)


def reopened_status(market: Market, now_open: bool) -> MarketStatus:
    """Open again if it was open when it settled (or closed only because the settlement was asked for) and its
    close time has not passed; closed otherwise."""
    settled_at = market.settled_at
    closed_before = market.closed_at is not None and settled_at is not None and market.closed_at < settled_at
    closed_before = closed_before and not market.closed_to_settle
    return MarketStatus.OPEN if now_open and not closed_before else MarketStatus.CLOSED


async def unresolve_market(
    uow: UnitOfWork, actor: Actor, number: int, reason: str = "", requested_at: datetime | None = None
) -> Unresolved:
    """Reverse the market's settlement (a resolution, a weighted one or a cancellation). A deferred request is
    judged by when it was made (`requested_at`), not by when the worker gets to it: its reply already said yes."""
    guild = await uow.guilds.get(actor.guild_id)
    market = await find_market(uow, actor.guild_id, number, lock=True)
    asked = requested_at or uow.now
    require_may_unresolve(actor, market, guild.resolver_role_id, guild.unresolve_window_seconds, asked)
    house = await uow.accounts.house(actor.guild_id)
    settled = await uow.markets.settled(market)
    # Locked as a settlement locks them: the house, the pool, the members in id order (the market is locked).
    balances = await uow.accounts.lock([house, market.pool_account_id, *settled])
    undo = reversal(market, house, settled, balances)
    uow.ledger.post(actor, undo.transfers)
    await uow.scores.unsettle(market.id)  # the forecasting records forget the results this settlement wrote
    status = reopened_status(market, as_utc(market.closes_at) > uow.now)
    reopened = await uow.markets.reopen(market, status, uow.now)
    undone = dict(market.resolution or {})
    unresolved = MarketUnresolved(
        market.id,
        number=market.number,
        undone=undone,
        reason=reason,
        status=status.value,
        reclaimed=undo.reclaimed,
        shortfall=undo.shortfall,
        members=undo.members,
        answered_in=actor.channel_id,
    )
    details = unresolved.payload()
    del details["answered_in"]  # where the reply went: the notice's business, not the audit trail's
    uow.ledger.audit(actor, AuditAction.MARKET_UNRESOLVE, market_id=market.id, **details)
    uow.events.record(actor, unresolved)
    await uow.flush()
    return Unresolved(
        market=market_view(reopened, guild.currency_name),
        undone=undone,
        reason=reason or None,
        reclaimed=undo.reclaimed,
        shortfall=undo.shortfall,
        members=undo.members,
    )
