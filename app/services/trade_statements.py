"""The SQL of a trade, built once per process with named parameters (see `UnitOfWork.stage_prepared`).

Trades are the hot path: building statements per request cost more CPU than everything else a trade
does. Trades on one market are applied in batches (see `trading_desk`), so every statement here takes
any number of members:

* `lock(dialect)` locks the market row, then the members' account rows in id order, and reads what a
  trade needs of the guild and of the members' positions, in one round trip.
* On Postgres, `batch_writes()` writes a whole batch (positions, market, trades, balances, transfers,
  audit, idempotency records) from arrays: staged together they go as one statement of CTEs.
* SQLite has no arrays; it runs `row_writes()` once per trade, in order (it runs one writer at a time).

Parameter names never match a column's: SQLAlchemy would take such a key for a SET or VALUES entry.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import UpdateBase

from models.tables import accounts, audit_events, guilds, interaction_records, markets, positions, trades, transfers

_p = sa.bindparam
_seen = accounts.alias("seen")
_ids = sa.BigInteger()


def _in(column: sa.ColumnElement[Any], name: str, dialect: str) -> sa.ColumnElement[bool]:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(_p(name, type_=ARRAY(_ids)))
    return column.in_(_p(name, expanding=True))


@cache
def lock(dialect: str) -> sa.Select[Any]:
    """The market row and the members' account rows, locked in that order.

    Markets come first in the FROM and the rows are sorted by account id before they are locked, so
    Postgres takes the market, then the accounts in id order: the order every use case follows.
    `locked_version` is an account row as locked, `seen_version` as this statement's snapshot saw it:
    they differ only when the member traded while this statement waited for the market, and then the
    positions read with it are stale (`positions_of(dialect)` reads them again). SQLite runs one writer at
    a time (BEGIN IMMEDIATE), so what it reads is never stale.
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
                sa.and_(accounts.c.guild_id == markets.c.guild_id, _in(accounts.c.user_id, "lock_user_ids", dialect)),
            )
            .outerjoin(
                positions, sa.and_(positions.c.market_id == markets.c.id, positions.c.account_id == accounts.c.id)
            )
        )
        .where(markets.c.guild_id == _p("lock_guild_id"), markets.c.number == _p("lock_number"))
        .order_by(accounts.c.id)
        .with_for_update(of=[markets, accounts])
    )


@cache
def positions_of(dialect: str) -> sa.Select[Any]:
    return sa.select(positions.c.account_id, positions.c.outcome, positions.c.shares).where(
        positions.c.market_id == _p("held_market_id"), _in(positions.c.account_id, "held_account_ids", dialect)
    )


@cache
def recorded(dialect: str) -> sa.Select[Any]:
    """What was already applied of these interactions (idempotency)."""
    return sa.select(interaction_records.c.id, interaction_records.c.result).where(
        _in(interaction_records.c.id, "recorded_ids", dialect)
    )


MARKET_EXISTS = sa.select(markets.c.id).where(
    markets.c.guild_id == _p("lock_guild_id"), markets.c.number == _p("lock_number")
)


def _accumulating(position: Any) -> Any:
    """A position insert that, for a position already held, sets its shares and adds to what was paid in
    and taken out (Postgres and SQLite spell ON CONFLICT alike)."""
    return position.on_conflict_do_update(
        index_elements=[positions.c.market_id, positions.c.account_id, positions.c.outcome],
        set_={
            "shares": position.excluded.shares,
            "paid_in": positions.c.paid_in + position.excluded.paid_in,
            "taken_out": positions.c.taken_out + position.excluded.taken_out,
        },
    )


@cache
def row_writes() -> tuple[UpdateBase, ...]:
    """Every write of one trade, for SQLite (run once per trade of a batch, in order)."""
    from sqlalchemy.dialects import sqlite

    position = sqlite.insert(positions).values(
        market_id=_p("t_market_id"),
        account_id=_p("t_account_id"),
        outcome=_p("t_outcome"),
        shares=_p("t_held"),
        paid_in=_p("t_paid_in"),
        taken_out=_p("t_taken_out"),
    )
    position = _accumulating(position)
    market = (
        sa.update(markets)
        .where(markets.c.id == _p("t_market_id"))
        .values(
            shares=_p("t_market_shares", type_=markets.c.shares.type),
            volume=markets.c.volume + _p("t_points"),
            trade_count=markets.c.trade_count + sa.literal_column("1"),
        )
    )
    trade = sa.insert(trades).values(
        guild_id=_p("t_guild_id"),
        market_id=_p("t_market_id"),
        account_id=_p("t_account_id"),
        user_id=_p("t_user_id"),
        outcome=_p("t_outcome"),
        side=_p("t_side"),
        points=_p("t_points"),
        shares=_p("t_micro"),
        prices_after=_p("t_prices_after", type_=trades.c.prices_after.type),
        interaction_id=_p("t_interaction_id"),
        created_at=_p("t_now"),
    )
    member = (
        sa.update(accounts)
        .where(accounts.c.id == _p("t_account_id"))
        .values(balance=accounts.c.balance + _p("t_member_delta"))
    )
    pool = (
        sa.update(accounts)
        .where(accounts.c.id == _p("t_pool_id"))
        .values(balance=accounts.c.balance - _p("t_member_delta"))
    )
    transfer = sa.insert(transfers).values(
        guild_id=_p("t_guild_id"),
        debit_account_id=_p("t_debit"),
        credit_account_id=_p("t_credit"),
        amount=_p("t_points"),
        reason=_p("t_reason"),
        market_id=_p("t_market_id"),
        interaction_id=_p("t_interaction_id"),
        created_at=_p("t_now"),
    )
    audit_row = sa.insert(audit_events).values(
        guild_id=_p("t_guild_id"),
        actor_id=_p("t_user_id"),
        action=_p("t_action"),
        market_id=_p("t_market_id"),
        details=_p("t_details", type_=audit_events.c.details.type),
        interaction_id=_p("t_interaction_id"),
        created_at=_p("t_now"),
    )
    record = sa.insert(interaction_records).values(
        id=_p("t_interaction_id"),
        guild_id=_p("t_guild_id"),
        user_id=_p("t_user_id"),
        action=_p("t_action"),
        result=_p("t_result", type_=interaction_records.c.result.type),
        created_at=_p("t_now"),
    )
    return position, market, trade, member, pool, transfer, audit_row, record


@cache
def batch_writes() -> tuple[UpdateBase, ...]:
    """Every write of a batch of trades on one market, for Postgres, from arrays (one element per trade,
    per position touched, or per account touched). Staged together they go as one statement."""
    from sqlalchemy.dialects import postgresql

    def each(name: str, type_: sa.types.TypeEngine[Any]) -> Any:
        return sa.func.unnest(_p(name, type_=postgresql.ARRAY(type_)))

    def json(name: str) -> Any:
        return sa.cast(each(name, sa.Text()), sa.JSON)

    # Typed, because Postgres cannot infer the type of a parameter in an INSERT's SELECT list.
    market_id = _p("b_market_id", type_=sa.BigInteger())
    guild_id = _p("b_guild_id", type_=sa.BigInteger())
    now = _p("b_now", type_=sa.DateTime(timezone=True))
    big, small, text = sa.BigInteger(), sa.SmallInteger(), sa.String()

    position = postgresql.insert(positions).from_select(
        ["market_id", "account_id", "outcome", "shares", "paid_in", "taken_out"],
        sa.select(
            market_id,
            each("b_pos_account", big),
            each("b_pos_outcome", small),
            each("b_pos_shares", big),
            each("b_pos_paid_in", big),
            each("b_pos_taken_out", big),
        ),
    )
    position = _accumulating(position)
    market = (
        sa.update(markets)
        .where(markets.c.id == market_id)
        .values(
            shares=_p("b_market_shares", type_=markets.c.shares.type),
            volume=markets.c.volume + _p("b_volume", type_=big),
            trade_count=markets.c.trade_count + _p("b_count", type_=sa.Integer()),
        )
    )
    trade = sa.insert(trades).from_select(
        [
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
        ],
        sa.select(
            guild_id,
            market_id,
            each("b_account", big),
            each("b_user", big),
            each("b_outcome", small),
            each("b_side", text),
            each("b_points", big),
            each("b_micro", big),
            json("b_prices_after"),
            each("b_interaction", big),
            now,
        ),
    )
    delta = sa.select(each("b_balance_account", big).label("id"), each("b_balance_delta", big).label("delta")).subquery(
        "delta"
    )
    balances = sa.update(accounts).where(accounts.c.id == delta.c.id).values(balance=accounts.c.balance + delta.c.delta)
    transfer = sa.insert(transfers).from_select(
        [
            "guild_id",
            "debit_account_id",
            "credit_account_id",
            "amount",
            "reason",
            "market_id",
            "interaction_id",
            "created_at",
        ],
        sa.select(
            guild_id,
            each("b_debit", big),
            each("b_credit", big),
            each("b_points", big),
            each("b_reason", text),
            market_id,
            each("b_interaction", big),
            now,
        ),
    )
    audit_row = sa.insert(audit_events).from_select(
        ["guild_id", "actor_id", "action", "market_id", "details", "interaction_id", "created_at"],
        sa.select(
            guild_id,
            each("b_user", big),
            each("b_action", text),
            market_id,
            json("b_details"),
            each("b_interaction", big),
            now,
        ),
    )
    record = sa.insert(interaction_records).from_select(
        ["id", "guild_id", "user_id", "action", "result", "created_at"],
        sa.select(
            each("b_record_id", big),
            guild_id,
            each("b_record_user", big),
            each("b_record_action", text),
            json("b_record_result"),
            now,
        ),
    )
    return position, market, trade, balances, transfer, audit_row, record
