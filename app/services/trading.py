"""Buying and selling outcome shares.

`trade` applies a batch of orders on one market in one unit of work: it locks the market row, then the
members' accounts, runs each order through the market maker in turn (each sees the prices the one
before left), and stages every write of the batch at once. An order that fails (a domain error) changes
nothing and does not stop the others. The trading desk (`trading_desk.py`) gathers the batches.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.domain import lmsr
from app.errors import InsufficientBalance, NotFound
from app.persistence.unit_of_work import UnitOfWork
from app.services import trade_statements as sql
from app.services.common import AccountMissing, Actor, from_micro, to_micro
from app.services.markets import market_state, market_view, outcome_index
from app.services.views import TradeReceipt


@dataclass(frozen=True)
class Order:
    """A member's order: a buy of `amount` points (`None`: all they can), or a sale of `shares` (`None`: all
    they hold) of `outcome` (its index or label) in market `number`."""

    actor: Actor
    side: str  # "buy" | "sell"
    number: int
    outcome: int | str
    amount: int | None = None
    shares: Decimal | None = None

    @property
    def action(self) -> str:
        return f"trade.{self.side}"


Filled = TradeReceipt | Exception  # the order's receipt, or why it was refused (it changed nothing)


@dataclass
class _Book:
    """The market and its traders as this batch has left them so far."""

    market: Any
    state: lmsr.MarketState
    accounts: dict[int, int]  # user id -> account id
    balances: dict[int, int]  # account id -> balance
    held: dict[tuple[int, int], int]  # (account id, outcome) -> micro-shares
    volume: int
    trade_count: int
    fills: list[dict[str, Any]] = field(default_factory=list)


async def trade(uow: UnitOfWork, orders: Sequence[Order], *, check_records: bool = True) -> list[Filled]:
    """Apply `orders` (all on one market) in order; one result per order, in the same order.

    Each filled order is recorded with its receipt under its interaction id in the same transaction, and
    an interaction already applied gets its recorded receipt. With `check_records` the records are looked
    up before anything is locked. Without it, a redelivered interaction that would fill again clashes on
    the record's primary key (the caller runs the batch again with the check); one that would now fail
    (the first copy spent the balance) is looked up then. Orders that fail are looked up again once the
    market is locked: a copy of the same interaction applied meanwhile by another process has committed.
    A member with no account yet gets `AccountMissing`: the desk opens it apart and queues the order again.
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
    book = await _lock(uow, guild_id, number, {orders[i].actor.user_id for i in live})
    if book is None:  # no market, or none of these members has an account yet
        params = {"lock_guild_id": guild_id, "lock_number": number}
        if await uow.conn.scalar(sql.MARKET_EXISTS, params) is None:
            missing = NotFound(f"There is no market #{number} in this server.")
            return [f if f is not None else missing for f in filled]
        return [
            f if f is not None else AccountMissing(guild_id, o.actor.user_id)
            for f, o in zip(filled, orders, strict=True)
        ]
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
                receipt = _fill(uow, book, order)
            except Exception as error:  # this order's own failure: it changed nothing
                filled[i] = error
                failed.append(i)
            else:
                filled[i] = receipt
                if key is not None:
                    done[key] = receipt
    if failed:
        await _replay(uow, orders, filled, failed)
    if book.fills:
        _stage(uow, book)
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
    rows = await uow.conn.execute(sql.recorded(uow.database.dialect), {"recorded_ids": sorted(keys)})
    stored = {int(key): result for key, result in rows}
    for key, i in keys.items():
        if key in stored:
            filled[i] = TradeReceipt.model_validate(stored[key])
            for j, order in enumerate(orders):  # every copy of that interaction in the batch
                if order.actor.interaction_id == key:
                    filled[j] = filled[i]


async def _lock(uow: UnitOfWork, guild_id: int, number: int, user_ids: set[int]) -> _Book | None:
    """Lock the market, then the members' accounts, with their positions in the market: one round trip
    while none of them traded elsewhere meanwhile, two when one did. `None` when no row matched (no
    market, or none of these members has an account)."""
    dialect = uow.database.dialect
    params = {"lock_guild_id": guild_id, "lock_number": number, "lock_user_ids": sorted(user_ids)}
    rows = (await uow.conn.execute(sql.lock(dialect), params)).mappings().all()
    if not rows:
        return None
    market = rows[0]
    accounts = {int(r["member_user_id"]): int(r["account_id"]) for r in rows}
    balances = {int(r["account_id"]): int(r["member_balance"]) for r in rows}
    held = {
        (int(r["account_id"]), int(r["held_outcome"])): int(r["held_shares"])
        for r in rows
        if r["held_outcome"] is not None
    }
    if uow.is_postgres and any(r["locked_version"] != r["seen_version"] for r in rows):
        fresh = await uow.conn.execute(
            sql.positions_of(dialect), {"held_market_id": market["id"], "held_account_ids": sorted(balances)}
        )
        held = {(int(a), int(o)): int(s) for a, o, s in fresh}
    return _Book(
        market=market,
        state=market_state(market, uow.now),
        accounts=accounts,
        balances=balances,
        held=held,
        volume=int(market["volume"]),
        trade_count=int(market["trade_count"]),
    )


def _fill(uow: UnitOfWork, book: _Book, order: Order) -> TradeReceipt:
    """Run one order through the market maker against the book; then (only once nothing can fail) update
    the book and note the writes."""
    market = book.market
    account = book.accounts[order.actor.user_id]
    balance = book.balances[account]
    index = outcome_index(list(market["outcomes"]), order.outcome)
    held_micro = book.held.get((account, index), 0)
    buying = order.side == "buy"
    if buying:
        amount = order.amount
        if amount is None:
            amount = min(balance, market["max_stake"])
            if amount < 1:
                raise InsufficientBalance("You have no points to stake.")
        if amount > balance:
            raise InsufficientBalance(f"You only have {balance:,} {market['currency_name']}, not {amount:,}.")
        result = lmsr.buy(book.state, index, amount, max_points=market["max_stake"])
    else:
        held = from_micro(held_micro)
        if held <= 0:
            raise NotFound(f"You hold no shares of {market['outcomes'][index]} in market #{order.number}.")
        result = lmsr.sell(book.state, index, held if order.shares is None else order.shares, held=held)

    micro = to_micro(result.shares)
    held_after = held_micro + (micro if buying else -micro)
    delta = -result.points if buying else result.points
    market_shares = [to_micro(q) for q in result.state.shares]
    volume, trade_count = book.volume + result.points, book.trade_count + 1
    receipt = TradeReceipt(
        market=market_view(
            dict(market) | {"shares": market_shares, "volume": volume, "trade_count": trade_count},
            market["currency_name"],
        ),
        side=order.side,
        outcome=index,
        points=result.points,
        shares=result.shares,
        probability_before=result.price_before,
        probability_after=result.price_after,
        shares_held=from_micro(held_after),
        balance=balance + delta,
        currency=market["currency_name"],
    )
    recorded = receipt.model_dump(mode="json") if order.actor.interaction_id is not None else None
    prices_after = [str(p) for p in lmsr.prices(result.state)]

    book.state = result.state
    book.balances[account] = balance + delta
    book.held[(account, index)] = held_after
    book.volume, book.trade_count = volume, trade_count
    pool = market["pool_account_id"]
    actor = order.actor
    book.fills.append(
        {
            "t_market_id": market["id"],
            "t_account_id": account,
            "t_pool_id": pool,
            "t_guild_id": actor.guild_id,
            "t_user_id": actor.user_id,
            "t_interaction_id": actor.interaction_id,
            "t_now": uow.now,
            "t_outcome": index,
            "t_held": held_after,
            "t_paid_in": result.points if buying else 0,
            "t_taken_out": 0 if buying else result.points,
            "t_market_shares": market_shares,
            "t_points": result.points,
            "t_side": order.side,
            "t_micro": micro,
            "t_prices_after": prices_after,
            "t_member_delta": delta,
            "t_debit": account if buying else pool,
            "t_credit": pool if buying else account,
            "t_reason": "stake" if buying else "sale",
            "t_action": order.action,
            "t_details": {
                "number": market["number"],
                "outcome": index,
                "points": result.points,
                "shares": str(result.shares),
            },
            "t_result": recorded,
        }
    )
    return receipt


def _stage(uow: UnitOfWork, book: _Book) -> None:
    """Stage every write of the batch's filled orders (each one transfer, balanced)."""
    fills = book.fills
    if not uow.is_postgres:
        position, market, trade_row, member, pool, transfer, audit_row, record_row = sql.row_writes()
        for params in fills:
            for statement in (position, market, trade_row, member, pool, transfer, audit_row):
                uow.stage_prepared(statement, params)
            if params["t_result"] is not None:
                uow.stage_prepared(record_row, params)
        return
    # One row per position and per account touched, however many of the batch's orders touched it.
    positions: dict[tuple[int, int], list[int]] = {}
    deltas: dict[int, int] = {}
    for f in fills:
        row = positions.setdefault((f["t_account_id"], f["t_outcome"]), [0, 0, 0])
        row[0] = f["t_held"]
        row[1] += f["t_paid_in"]
        row[2] += f["t_taken_out"]
        deltas[f["t_account_id"]] = deltas.get(f["t_account_id"], 0) + f["t_member_delta"]
        deltas[f["t_pool_id"]] = deltas.get(f["t_pool_id"], 0) - f["t_member_delta"]
    recorded = [f for f in fills if f["t_result"] is not None]
    last = fills[-1]
    params = {
        "b_market_id": last["t_market_id"],
        "b_guild_id": last["t_guild_id"],
        "b_now": uow.now,
        "b_pos_account": [a for a, _ in positions],
        "b_pos_outcome": [o for _, o in positions],
        "b_pos_shares": [v[0] for v in positions.values()],
        "b_pos_paid_in": [v[1] for v in positions.values()],
        "b_pos_taken_out": [v[2] for v in positions.values()],
        "b_market_shares": last["t_market_shares"],
        "b_volume": sum(f["t_points"] for f in fills),
        "b_count": len(fills),
        "b_account": [f["t_account_id"] for f in fills],
        "b_user": [f["t_user_id"] for f in fills],
        "b_outcome": [f["t_outcome"] for f in fills],
        "b_side": [f["t_side"] for f in fills],
        "b_points": [f["t_points"] for f in fills],
        "b_micro": [f["t_micro"] for f in fills],
        "b_prices_after": [json.dumps(f["t_prices_after"]) for f in fills],
        "b_interaction": [f["t_interaction_id"] for f in fills],
        "b_balance_account": sorted(deltas),
        "b_balance_delta": [deltas[a] for a in sorted(deltas)],
        "b_debit": [f["t_debit"] for f in fills],
        "b_credit": [f["t_credit"] for f in fills],
        "b_reason": [f["t_reason"] for f in fills],
        "b_action": [f["t_action"] for f in fills],
        "b_details": [json.dumps(f["t_details"]) for f in fills],
        "b_record_id": [f["t_interaction_id"] for f in recorded],
        "b_record_user": [f["t_user_id"] for f in recorded],
        "b_record_action": [f["t_action"] for f in recorded],
        "b_record_result": [json.dumps(f["t_result"]) for f in recorded],
    }
    statements = sql.batch_writes()
    for statement in statements if recorded else statements[:-1]:
        uow.stage_prepared(statement, params)
