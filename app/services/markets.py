"""Market life cycle: create, close, resolve (to one outcome or weighted), cancel, and the periodic close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.domain import lmsr
from app.errors import Conflict, Forbidden, NotFound, ValidationError
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import (
    Actor,
    Posting,
    accounts,
    audit,
    balance_of,
    from_micro,
    get_guild,
    guilds,
    house_account_id,
    markets,
    post,
)
from app.services.views import MarketView, Payout, Settlement
from models.tables import positions

MAX_LIQUIDITY = 1_000_000
SYSTEM_ACTOR = 0  # audit rows of what the scheduler does
MIN_LIQUIDITY = 10


def outcome_index(outcomes: list[str], value: int | str | None) -> int:
    """An outcome by its label (case-insensitive) or, failing that, by its index."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(outcomes):
            return value
        raise ValidationError("That outcome is not one of this market's outcomes.")
    text = str(value if value is not None else "").strip()
    key = text.casefold()
    for index, label in enumerate(outcomes):
        if label.casefold() == key:
            return index
    if text.isdigit() and int(text) < len(outcomes):
        return int(text)
    shown = " ".join("".join(c for c in text if c.isprintable() or c.isspace()).split())
    shown = shown if len(shown) <= 50 else shown[:49] + "…"
    raise ValidationError(f"“{shown}” is not an outcome of this market. Choose one of: {', '.join(outcomes)}.")


def market_state(row: Any, now: datetime | None = None) -> lmsr.MarketState:
    is_open = row["status"] == "open" and (now is None or as_utc(row["closes_at"]) > now)
    return lmsr.MarketState(
        liquidity=int(row["liquidity"]),
        shares=tuple(from_micro(int(q)) for q in row["shares"]),
        is_open=is_open,
    )


def as_utc(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def market_view(row: Any, currency: str = "points") -> MarketView:
    state = market_state(row)
    return MarketView(
        id=row["id"],
        guild_id=row["guild_id"],
        number=row["number"],
        question=row["question"],
        description=row["description"],
        outcomes=list(row["outcomes"]),
        probabilities=list(lmsr.prices(state)),
        shares=list(state.shares),
        liquidity=row["liquidity"],
        volume=row["volume"],
        trade_count=row["trade_count"],
        status=row["status"],
        creator_id=row["creator_id"],
        channel_id=row["channel_id"],
        closes_at=as_utc(row["closes_at"]),
        created_at=as_utc(row["created_at"]),
        settled_at=as_utc(row["settled_at"]) if row["settled_at"] else None,
        resolution=row["resolution"],
        total_paid=row["total_paid"],
        currency=currency,
    )


async def find_market(uow: UnitOfWork, guild_id: int, number: int, *, lock: bool = False) -> Any:
    query = sa.select(markets).where(markets.c.guild_id == guild_id, markets.c.number == number)
    if lock:
        query = query.with_for_update()
    row = (await uow.conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"There is no market #{number} in this server.")
    return row


@dataclass(frozen=True)
class CreateMarket:
    question: str
    outcomes: list[str]
    description: str = ""
    closes_in: timedelta | None = None
    liquidity: int | None = None
    channel_id: int | None = None


async def create_market(uow: UnitOfWork, actor: Actor, cmd: CreateMarket) -> MarketView:
    guild = await get_guild(uow, actor.guild_id)
    role = guild["creator_role_id"]
    if role is not None and not actor.is_admin and role not in actor.role_ids:
        raise Forbidden(f"Only members with the <@&{role}> role can create markets here.")
    liquidity = guild["default_liquidity"] if cmd.liquidity is None else cmd.liquidity
    if not MIN_LIQUIDITY <= liquidity <= MAX_LIQUIDITY:
        raise ValidationError(f"Liquidity must be between {MIN_LIQUIDITY:,} and {MAX_LIQUIDITY:,}.")
    state = lmsr.new_market(len(cmd.outcomes), liquidity)
    closes_in = cmd.closes_in or timedelta(seconds=guild["default_duration_seconds"])
    number = await uow.conn.scalar(
        sa.update(guilds)
        .where(guilds.c.id == actor.guild_id)
        .values(next_market_number=guilds.c.next_market_number + 1)
        .returning(guilds.c.next_market_number - 1)
    )
    market_id = await uow.conn.scalar(
        sa.insert(markets)
        .values(
            guild_id=actor.guild_id,
            number=number,
            question=cmd.question,
            description=cmd.description,
            outcomes=list(cmd.outcomes),
            shares=[0] * state.n,
            liquidity=liquidity,
            status="open",
            creator_id=actor.user_id,
            channel_id=cmd.channel_id,
            volume=0,
            trade_count=0,
            closes_at=uow.now + closes_in,
            created_at=uow.now,
        )
        .returning(markets.c.id)
    )
    pool = await uow.conn.scalar(
        sa.insert(accounts)
        .values(guild_id=actor.guild_id, kind="market", market_id=market_id, balance=0, created_at=uow.now)
        .returning(accounts.c.id)
    )
    house = await house_account_id(uow, actor.guild_id)
    uow.stage(sa.update(markets).where(markets.c.id == market_id).values(pool_account_id=pool))
    post(uow, actor.guild_id, [Posting(house, pool, liquidity, "subsidy", market_id)], actor.interaction_id)
    audit(uow, actor, "market.create", market_id=market_id, number=number, liquidity=liquidity)
    await uow.flush()
    row = await find_market(uow, actor.guild_id, int(number))
    return market_view(row, guild["currency_name"])


def _may_settle(actor: Actor, guild: Any, market: Any) -> bool:
    role = guild["resolver_role_id"]
    return actor.is_admin or actor.user_id == market["creator_id"] or (role is not None and role in actor.role_ids)


async def _settleable(uow: UnitOfWork, actor: Actor, number: int) -> tuple[Any, Any]:
    guild = await get_guild(uow, actor.guild_id)
    market = await find_market(uow, actor.guild_id, number, lock=True)
    if not _may_settle(actor, guild, market):
        raise Forbidden("Only the market's creator, a resolver or a server manager can do that.")
    if market["status"] in ("resolved", "cancelled"):
        raise Conflict(f"Market #{number} is already {market['status']}.")
    return guild, market


async def close_market(uow: UnitOfWork, actor: Actor, number: int) -> MarketView:
    guild, market = await _settleable(uow, actor, number)
    if market["status"] != "open":
        raise Conflict(f"Market #{number} is already closed.")
    uow.stage(sa.update(markets).where(markets.c.id == market["id"]).values(status="closed", closed_at=uow.now))
    audit(uow, actor, "market.close", market_id=market["id"], number=number)
    await uow.flush()
    return market_view(await find_market(uow, actor.guild_id, number), guild["currency_name"])


async def _holdings(uow: UnitOfWork, market: Any) -> dict[int, tuple[int, list[int], int, int]]:
    """account id -> (user id, micro-shares per outcome, paid in, taken out)."""
    rows = (
        await uow.conn.execute(
            sa.select(positions, accounts.c.user_id)
            .join(accounts, accounts.c.id == positions.c.account_id)
            .where(positions.c.market_id == market["id"])
            .order_by(positions.c.account_id)
        )
    ).mappings()
    n = len(market["outcomes"])
    held: dict[int, tuple[int, list[int], int, int]] = {}
    for row in rows:
        user_id, shares, paid, out = held.get(row["account_id"], (row["user_id"], [0] * n, 0, 0))
        shares[row["outcome"]] += row["shares"]
        held[row["account_id"]] = (user_id, shares, paid + row["paid_in"], out + row["taken_out"])
    return held


async def _settle(
    uow: UnitOfWork,
    actor: Actor,
    guild: Any,
    market: Any,
    payouts: dict[int, int],
    holders: dict[int, tuple[int, list[int], int, int]],
    *,
    status: str,
    resolution: dict[str, Any],
    reason: str,
) -> Settlement:
    pool = market["pool_account_id"]
    held = await balance_of(uow, pool)
    total = sum(payouts.values())
    if total > held:
        raise AssertionError(f"market {market['id']} cannot pay {total} from {held}")  # the engine forbids it
    house = await house_account_id(uow, actor.guild_id)
    postings = [Posting(pool, account, amount, reason, market["id"]) for account, amount in payouts.items()]
    postings.append(Posting(pool, house, held - total, "house_return", market["id"]))
    post(uow, actor.guild_id, postings, actor.interaction_id)
    uow.stage(
        sa.update(markets)
        .where(markets.c.id == market["id"])
        .values(
            status=status,
            closed_at=sa.func.coalesce(markets.c.closed_at, uow.now),
            settled_at=uow.now,
            settled_by=actor.user_id,
            resolution=resolution,
            total_paid=total,
        )
    )
    # Named like the other market actions (market.create, market.close): the verb, not the status.
    action = {"resolved": "market.resolve", "cancelled": "market.cancel"}[status]
    audit(uow, actor, action, market_id=market["id"], number=market["number"], total_paid=total, **resolution)
    await uow.flush()
    view = market_view(await find_market(uow, actor.guild_id, market["number"]), guild["currency_name"])
    return Settlement(
        market=view,
        payouts=sorted(
            (Payout(user_id=holders[a][0], amount=amt) for a, amt in payouts.items() if amt > 0),
            key=lambda p: (-p.amount, p.user_id),
        ),
        total_paid=total,
        house_return=held - total,
        reason=resolution.get("cancelled"),
    )


async def resolve_market(uow: UnitOfWork, actor: Actor, number: int, outcome: int) -> Settlement:
    guild, market = await _settleable(uow, actor, number)
    if not 0 <= outcome < len(market["outcomes"]):
        raise ValidationError("That outcome is not one of this market's outcomes.")
    holders = await _holdings(uow, market)
    payouts = lmsr.resolution_payouts({a: [from_micro(s) for s in h[1]] for a, h in holders.items()}, outcome)
    return await _settle(
        uow, actor, guild, market, payouts, holders, status="resolved", resolution={"outcome": outcome}, reason="payout"
    )


async def resolve_market_weighted(uow: UnitOfWork, actor: Actor, number: int, weights: list[int]) -> Settlement:
    guild, market = await _settleable(uow, actor, number)
    if len(weights) != len(market["outcomes"]):
        raise ValidationError("Give a weight for each outcome.")
    holders = await _holdings(uow, market)
    payouts = lmsr.weighted_payouts({a: [from_micro(s) for s in h[1]] for a, h in holders.items()}, weights)
    return await _settle(
        uow,
        actor,
        guild,
        market,
        payouts,
        holders,
        status="resolved",
        resolution={"weights": list(weights)},
        reason="payout",
    )


async def cancel_market(uow: UnitOfWork, actor: Actor, number: int, reason: str = "") -> Settlement:
    guild, market = await _settleable(uow, actor, number)
    holders = await _holdings(uow, market)
    refunds = lmsr.cancellation_refunds({a: (h[2], h[3]) for a, h in holders.items()})
    refunds = scale_to_fit(refunds, await balance_of(uow, market["pool_account_id"]))
    return await _settle(
        uow,
        actor,
        guild,
        market,
        refunds,
        holders,
        status="cancelled",
        resolution={"cancelled": reason or ""},
        reason="refund",
    )


def scale_to_fit(amounts: dict[int, int], available: int) -> dict[int, int]:
    """Shrink refunds pro rata (rounding down) when traders who sold at a profit left the pool short.

    Refunds are what each trader put in net of sales; a trader who took out more than they put in
    keeps that profit, which can leave less in the pool than the others paid. The pool never pays out
    more than it holds, so the shortfall is shared in proportion.
    """
    total = sum(amounts.values())
    if total <= available:
        return amounts
    return {k: v * available // total for k, v in amounts.items()}


async def close_expired_markets(uow: UnitOfWork, now: datetime) -> list[tuple[int, int]]:
    """Close every open market whose close time has passed; safe to run concurrently and repeatedly."""
    rows = (
        await uow.conn.execute(
            sa.update(markets)
            .where(markets.c.status == "open", markets.c.closes_at <= now)
            .values(status="closed", closed_at=now)
            .returning(markets.c.id, markets.c.guild_id, markets.c.number)
        )
    ).all()
    # Closing is a state change like any other: audit it, as done by the system (actor 0).
    for market_id, guild_id, number in rows:
        audit(
            uow,
            Actor(guild_id=int(guild_id), user_id=SYSTEM_ACTOR),
            "market.close",
            market_id=int(market_id),
            number=int(number),
            expired=True,
        )
    await uow.commit()
    return [(int(g), int(n)) for _, g, n in rows]
