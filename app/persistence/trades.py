"""A batch of trades on one market: the locked book it trades against, and its writes to positions, the
market and the trade log (its transfers, audit rows and records go through the ledger).

Trades are the hot path: the statements are built once per process, and the lock is one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from app.domain.market import Market
from app.persistence.session import Session
from app.persistence.sql import any_of, market_from_row
from app.services.rows import FilledTrade, PositionChange, TradeBook
from models.schema import accounts, guilds, markets, positions, trades

_p = sa.bindparam
_seen = accounts.alias("seen")


@cache
def _lock(dialect: str) -> sa.Select[Any]:
    """The market row and the members' account rows, locked in that order, with the members' positions.

    Markets come first in the FROM and the rows are sorted by account id before they are locked, so Postgres
    takes the market, then the accounts in id order: the order every use case follows. `locked_version` is an
    account row as locked, `seen_version` as this statement's snapshot saw it: they differ only when the
    member traded while this statement waited for the market, and then the positions read with it are stale
    (`_positions` reads them again). SQLite runs one writer at a time (BEGIN IMMEDIATE): never stale there.
    """
    columns: list[Any] = [
        markets,
        guilds.c.currency_name,
        guilds.c.max_stake,
        accounts.c.user_id.label("member_user_id"),
        accounts.c.id.label("account_id"),
        accounts.c.balance.label("member_balance"),
        positions.c.outcome.label("held_outcome"),
        positions.c.shares.label("held_shares"),
    ]
    if dialect == "postgresql":
        columns += [
            sa.cast(sa.literal_column("accounts.xmin"), sa.Text).label("locked_version"),
            sa.select(sa.cast(sa.literal_column("seen.xmin"), sa.Text))
            .where(_seen.c.id == accounts.c.id)
            .scalar_subquery()
            .label("seen_version"),
        ]
    return (
        sa.select(*columns)
        .select_from(
            markets.join(guilds, guilds.c.id == markets.c.guild_id)
            .join(
                accounts,
                sa.and_(
                    accounts.c.guild_id == markets.c.guild_id,
                    any_of(accounts.c.user_id, "book_user_ids", dialect),
                ),
            )
            .outerjoin(
                positions, sa.and_(positions.c.market_id == markets.c.id, positions.c.account_id == accounts.c.id)
            )
        )
        .where(markets.c.guild_id == _p("book_guild_id"), markets.c.number == _p("book_number"))
        .order_by(accounts.c.id)
        .with_for_update(of=[markets, accounts])
    )


@cache
def _positions(dialect: str) -> sa.Select[Any]:
    return sa.select(positions.c.account_id, positions.c.outcome, positions.c.shares).where(
        positions.c.market_id == _p("held_market_id"), any_of(positions.c.account_id, "held_account_ids", dialect)
    )


_MARKET_AFTER = (
    sa.update(markets)
    .where(markets.c.id == _p("traded_market_id"))
    .values(
        shares=_p("traded_shares", type_=markets.c.shares.type),
        volume=_p("traded_volume", type_=sa.BigInteger()),
        trade_count=_p("traded_count", type_=sa.Integer()),
    )
)


_POSITION = ("market_id", "account_id", "outcome", "shares", "paid_in", "taken_out")
_TRADE = (
    "guild_id",
    "market_id",
    "account_id",
    "user_id",
    "outcome",
    "side",
    "points",
    "shares",
    "prices_after",
    "interaction_id",
    "created_at",
)


def _accumulating(insert: Any) -> Any:
    """A position insert that, for a position already held, sets its shares and adds to what was paid in and
    taken out (Postgres and SQLite spell ON CONFLICT alike)."""
    return insert.on_conflict_do_update(
        index_elements=[positions.c.market_id, positions.c.account_id, positions.c.outcome],
        set_={
            "shares": insert.excluded.shares,
            "paid_in": positions.c.paid_in + insert.excluded.paid_in,
            "taken_out": positions.c.taken_out + insert.excluded.taken_out,
        },
    )


class SqlTrades:
    def __init__(self, session: Session) -> None:
        self._session = session

    async def lock_book(self, guild_id: int, number: int, user_ids: Iterable[int], now: datetime) -> TradeBook | None:
        session = self._session
        dialect = session.dialect
        params = {"book_guild_id": guild_id, "book_number": number, "book_user_ids": sorted(user_ids)}
        rows = (await session.conn.execute(_lock(dialect), params)).mappings().all()
        if not rows:
            return None
        first = rows[0]
        balances = {int(r["account_id"]): int(r["member_balance"]) for r in rows}
        held = {
            (int(r["account_id"]), int(r["held_outcome"])): int(r["held_shares"])
            for r in rows
            if r["held_outcome"] is not None
        }
        if dialect == "postgresql" and any(r["locked_version"] != r["seen_version"] for r in rows):
            fresh = await session.conn.execute(
                _positions(dialect), {"held_market_id": first["id"], "held_account_ids": sorted(balances)}
            )
            held = {(int(a), int(o)): int(s) for a, o, s in fresh}
        return TradeBook(
            market=market_from_row(first),
            currency=first["currency_name"],
            max_stake=int(first["max_stake"]),
            accounts={int(r["member_user_id"]): int(r["account_id"]) for r in rows},
            balances=balances,
            held=held,
        )

    def write(
        self, market: Market, changes: Sequence[PositionChange], filled: Sequence[FilledTrade], now: datetime
    ) -> None:
        writes = self._session.writes
        for change in changes:
            position = (market.id, change.account_id, change.outcome, change.shares, change.paid_in, change.taken_out)
            writes.insert(positions, _POSITION, position, conflict=_accumulating)
        writes.statement(
            _MARKET_AFTER,
            {
                "traded_market_id": market.id,
                "traded_shares": list(market.shares),
                "traded_volume": market.volume,
                "traded_count": market.trade_count,
            },
        )
        for trade in filled:
            values = (
                market.guild_id,
                market.id,
                trade.account_id,
                trade.actor.user_id,
                trade.outcome,
                trade.side.value,
                trade.points,
                trade.micro_shares,
                list(trade.prices_after),
                trade.actor.interaction_id,
                now,
            )
            writes.insert(trades, _TRADE, values)
