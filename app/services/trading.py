"""Buying and selling outcome shares.

`trade` applies a batch of orders on one market in one unit of work: it locks the market row, then the
members' accounts, runs each order through the market maker in turn (each sees the prices the one before
left), and stages every write of the batch at once. An order that fails (a domain error) changes nothing and
does not stop the others. The trading desk (`trading_desk.py`) gathers the batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from app.domain import lmsr
from app.domain.actor import Actor
from app.domain.audit import AuditAction
from app.domain.errors import InsufficientBalance, NotFound
from app.domain.events import TradeExecuted
from app.domain.inputs import match_outcome
from app.domain.ledger import Transfer, TransferReason
from app.domain.market import Side
from app.domain.shares import from_micro, to_micro
from app.services.ports import UnitOfWork
from app.services.results import TradeReceipt, market_view
from app.services.rows import FilledTrade, PositionChange, TradeBook


@dataclass(frozen=True)
class Order:
    """A member's order: a buy of `amount` points (`None`: all they can), or a sale of `shares` (`None`: all
    they hold) of `outcome` (its index or label) in market `number`."""

    actor: Actor
    side: Side
    number: int
    outcome: int | str
    amount: int | None = None
    shares: Decimal | None = None

    @property
    def action(self) -> AuditAction:
        return AuditAction.TRADE_BUY if self.side is Side.BUY else AuditAction.TRADE_SELL


Filled = TradeReceipt | Exception  # the order's receipt, or why it was refused (it changed nothing)


class AccountMissing(Exception):
    """The member has no account yet: the trading desk opens it in a transaction of its own (so a busy
    market's transaction never also holds the house row) and queues the order again."""

    def __init__(self, guild_id: int, user_id: int) -> None:
        super().__init__(f"no account for member {user_id} in guild {guild_id}")
        self.guild_id = guild_id
        self.user_id = user_id


@dataclass
class _Batch:
    """The market as this batch has left it so far, and what the batch will write."""

    book: TradeBook
    state: lmsr.MarketState
    volume: int
    trade_count: int
    trades: list[FilledTrade] = field(default_factory=list)
    positions: dict[tuple[int, int], PositionChange] = field(default_factory=dict)


async def trade(uow: UnitOfWork, orders: Sequence[Order], *, check_records: bool = True) -> list[Filled]:
    """Apply `orders` (all on one market) in order; one result per order, in the same order.

    Each filled order is recorded with its receipt under its interaction id in the same transaction, and an
    interaction already applied gets its recorded receipt. With `check_records` the records are looked up
    before anything is locked. Without it, a redelivered interaction that would fill again clashes on the
    record's primary key (the caller runs the batch again with the check); one that would now fail (the
    first copy spent the balance) is looked up then. Orders that fail are looked up again once the market
    is locked: a copy of the same interaction applied meanwhile by another process has committed. A member
    with no account yet gets `AccountMissing`.
    """
    guild_id, number = orders[0].actor.guild_id, orders[0].number
    if any(o.actor.guild_id != guild_id or o.number != number for o in orders):
        raise ValueError("a batch of orders is for one market")
    filled: list[Filled | None] = [None] * len(orders)
    if check_records:
        await _replay(uow, orders, filled, range(len(orders)))
    live = [i for i, f in enumerate(filled) if f is None]
    if not live:
        return _complete(filled)
    book = await uow.trades.lock_book(guild_id, number, {orders[i].actor.user_id for i in live}, uow.now)
    if book is None:  # no market, or none of these members has an account yet
        if await uow.markets.get(guild_id, number) is None:
            missing = NotFound(f"There is no market #{number} in this server.")
            return [f if f is not None else missing for f in filled]
        return [
            f if f is not None else AccountMissing(guild_id, o.actor.user_id)
            for f, o in zip(filled, orders, strict=True)
        ]
    batch = _Batch(book, book.market.state(uow.now), book.market.volume, book.market.trade_count)
    done: dict[int, TradeReceipt] = {}  # the same interaction twice in one batch applies once
    failed: list[int] = []
    for i in live:
        order = orders[i]
        key = order.actor.interaction_id
        if key is not None and key in done:
            filled[i] = done[key]
        elif order.actor.user_id not in book.accounts:
            filled[i] = AccountMissing(guild_id, order.actor.user_id)
            failed.append(i)
        else:
            try:
                receipt = _fill(uow, batch, order)
            except Exception as error:  # this order's own failure: it changed nothing
                filled[i] = error
                failed.append(i)
            else:
                filled[i] = receipt
                if key is not None:
                    done[key] = receipt
    if failed:
        await _replay(uow, orders, filled, failed)
    if batch.trades:
        shares = book.market.outstanding(tuple(to_micro(q) for q in batch.state.shares))
        market = book.market.after_trades(shares, batch.volume, batch.trade_count)
        uow.trades.write(market, list(batch.positions.values()), batch.trades, uow.now)
    return _complete(filled)


def _complete(filled: list[Filled | None]) -> list[Filled]:
    if any(f is None for f in filled):
        raise AssertionError("an order was left without a result")
    return [f for f in filled if f is not None]


async def _replay(uow: UnitOfWork, orders: Sequence[Order], filled: list[Filled | None], which: Iterable[int]) -> None:
    """Give each of the `which` orders whose interaction was already applied its recorded receipt."""
    keys = {key: i for i in which if (key := orders[i].actor.interaction_id) is not None}
    if not keys:
        return
    stored = await uow.records.find(keys)
    for key in keys.keys() & stored.keys():
        receipt = TradeReceipt.model_validate(stored[key])
        for j, order in enumerate(orders):  # every copy of that interaction in the batch
            if order.actor.interaction_id == key:
                filled[j] = receipt


def _fill(uow: UnitOfWork, batch: _Batch, order: Order) -> TradeReceipt:
    """Run one order through the market maker against the batch so far; then (only once nothing can fail)
    update the batch and stage the order's books."""
    book = batch.book
    market = book.market
    account = book.accounts[order.actor.user_id]
    balance = book.balances[account]
    index = match_outcome(market.outcomes, order.outcome)
    held_micro = book.held.get((account, index), 0)
    buying = order.side is Side.BUY
    if buying:
        amount = order.amount
        if amount is None:
            amount = min(balance, book.max_stake)
            if amount < 1:
                raise InsufficientBalance("You have no points to stake.")
        if amount > balance:
            raise InsufficientBalance(f"You only have {balance:,} {book.currency}, not {amount:,}.")
        result = lmsr.buy(batch.state, index, amount, max_points=book.max_stake)
    else:
        held = from_micro(held_micro)
        if held <= 0:
            raise NotFound(f"You hold no shares of {market.outcomes[index]} in market #{order.number}.")
        result = lmsr.sell(batch.state, index, held if order.shares is None else order.shares, held=held)

    micro = to_micro(result.shares)
    held_after = held_micro + (micro if buying else -micro)
    change = -result.points if buying else result.points
    volume, trade_count = batch.volume + result.points, batch.trade_count + 1
    probabilities = lmsr.prices(result.state)
    shown = market.after_trades(
        market.outstanding(tuple(to_micro(q) for q in result.state.shares)), volume, trade_count
    )
    receipt = TradeReceipt(
        market=market_view(shown, book.currency, probabilities),
        side=order.side.value,
        outcome=index,
        points=result.points,
        shares=result.shares,
        probability_before=result.price_before,
        probability_after=result.price_after,
        shares_held=from_micro(held_after),
        balance=balance + change,
        currency=book.currency,
    )

    batch.state = result.state
    book.balances[account] = balance + change
    book.held[(account, index)] = held_after
    batch.volume, batch.trade_count = volume, trade_count
    before = batch.positions.get((account, index))
    batch.positions[(account, index)] = PositionChange(
        account_id=account,
        outcome=index,
        shares=held_after,
        paid_in=(before.paid_in if before else 0) + (result.points if buying else 0),
        taken_out=(before.taken_out if before else 0) + (0 if buying else result.points),
    )
    actor = order.actor
    prices_after = tuple(str(p) for p in probabilities)
    batch.trades.append(FilledTrade(actor, account, index, order.side, result.points, micro, prices_after))
    pool = market.pool_account_id
    stake = (
        Transfer(account, pool, result.points, TransferReason.STAKE, market.id)
        if buying
        else Transfer(pool, account, result.points, TransferReason.SALE, market.id)
    )
    uow.ledger.post(actor, [stake])
    uow.ledger.audit(
        actor,
        order.action,
        market_id=market.id,
        number=market.number,
        outcome=index,
        points=result.points,
        shares=str(result.shares),
    )
    uow.events.record(
        actor,
        TradeExecuted(
            market.id,
            number=market.number,
            user_id=actor.user_id,
            side=order.side.value,
            outcome=index,
            points=result.points,
            shares=micro,
            probabilities=list(prices_after),
            volume=volume,
            trade_count=trade_count,
        ),
    )
    if actor.interaction_id is not None:
        uow.ledger.record(actor, order.action, receipt)
    return receipt
