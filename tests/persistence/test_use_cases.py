"""Every use case through the real unit of work, on Postgres AND SQLite: markets, settlement, trading, the
wallet, server settings, the audit trail and idempotency.

Every test ends by proving the books balance (`verify_ledger` finds nothing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError

from app.domain import lmsr
from app.domain.actor import Actor
from app.domain.errors import Conflict, Forbidden, InsufficientBalance, MarketNotOpen, NotFound, ValidationError
from app.domain.guild import ConfigChange
from app.domain.market import MarketStatus, Side
from app.persistence.database import Database
from app.persistence.unit_of_work import Transactions, UnitOfWork
from app.services import admin, markets, queries, settlement, wallet
from app.services.idempotency import execute
from app.services.results import DailyClaim, GiftReceipt, GuildConfig, MarketView, Settlement, TradeReceipt
from app.services.verify import verify_ledger
from models.tables import Position, Trade, accounts, audit_events, interaction_records, transfers
from models.tables import markets as markets_table
from tests.persistence.helpers import GUILD, act, assert_books_balance, fresh, member, query, trade

R = TypeVar("R", bound=BaseModel)
positions = Position.__table__
trades = Trade.__table__

OTHER_GUILD = 900000000000000002
ADMIN, ALICE, BOB, CAROL, DAVE = 10, 11, 12, 13, 14
CREATOR_ROLE, RESOLVER_ROLE = 700, 701
START = 1000  # a guild's default starting balance


# -- helpers -----------------------------------------------------------------------------------------------


async def do(
    database: Database, who: Actor, result_type: type[R], fn: Callable[[UnitOfWork, Actor], Awaitable[R]]
) -> R:
    """Run a use case as `who` in a new interaction; the use case sees the actor carrying that id."""
    actor = who if who.interaction_id else fresh(who)
    return await act(database, actor, result_type, lambda uow: fn(uow, actor))


async def create(
    database: Database,
    who: Actor,
    *,
    outcomes: tuple[str, ...] = ("Yes", "No"),
    liquidity: int | None = 1000,
    closes_in: timedelta | None = None,
    question: str = "Will it rain tomorrow?",
) -> MarketView:
    cmd = markets.CreateMarket(question=question, outcomes=list(outcomes), liquidity=liquidity, closes_in=closes_in)
    return await do(database, who, MarketView, lambda uow, a: markets.create_market(uow, a, cmd))


async def buy(database: Database, who: Actor, number: int, outcome: int, amount: int | None) -> TradeReceipt:
    return await trade(database, who, Side.BUY, number, outcome, amount=amount)


async def sell(database: Database, who: Actor, number: int, outcome: int, shares: Decimal | None) -> TradeReceipt:
    return await trade(database, who, Side.SELL, number, outcome, shares=shares)


async def resolve(database: Database, who: Actor, number: int, outcome: int | str) -> Settlement:
    return await do(database, who, Settlement, lambda uow, a: settlement.resolve_market(uow, a, number, outcome))


async def cancel(database: Database, who: Actor, number: int, reason: str = "") -> Settlement:
    return await do(database, who, Settlement, lambda uow, a: settlement.cancel_market(uow, a, number, reason))


async def close(database: Database, who: Actor, number: int) -> MarketView:
    return await do(database, who, MarketView, lambda uow, a: markets.close_market(uow, a, number))


async def configure(database: Database, who: Actor, **change: Any) -> GuildConfig:
    cmd = ConfigChange(**change)
    return await do(database, who, GuildConfig, lambda uow, a: admin.update_config(uow, a, cmd))


async def grant(database: Database, who: Actor, to: int, amount: int) -> GiftReceipt:
    return await do(database, who, GiftReceipt, lambda uow, a: wallet.grant(uow, a, to, amount, "test"))


async def give(database: Database, who: Actor, to: int, amount: int) -> GiftReceipt:
    return await do(database, who, GiftReceipt, lambda uow, a: wallet.give(uow, a, to, amount))


async def daily(database: Database, who: Actor, at: datetime | None = None) -> DailyClaim:
    actor = fresh(who)
    transactions = Transactions(database, lambda: at) if at is not None else Transactions(database)
    return await execute(transactions, actor, "daily", DailyClaim, lambda uow: wallet.claim_daily(uow, actor))


async def balance(database: Database, user_id: int, guild: int = GUILD) -> int:
    return (await query(database, lambda uow: queries.balance(uow, guild, user_id))).balance


async def fetch(database: Database, statement: Any) -> list[dict[str, Any]]:
    async def work(uow: UnitOfWork) -> list[dict[str, Any]]:
        return [dict(row) for row in (await uow.conn.execute(statement)).mappings().all()]

    return await query(database, work)


async def scalar(database: Database, statement: Any) -> Any:
    return await query(database, lambda uow: uow.conn.scalar(statement))


async def pool_balance(database: Database, market_id: int) -> int:
    return int(await scalar(database, sa.select(accounts.c.balance).where(accounts.c.market_id == market_id)))


async def house_balance(database: Database, guild: int = GUILD) -> int:
    return int(
        await scalar(
            database, sa.select(accounts.c.balance).where(accounts.c.guild_id == guild, accounts.c.kind == "house")
        )
    )


async def audit_actions(database: Database) -> list[str]:
    rows = await fetch(database, sa.select(audit_events.c.action).order_by(audit_events.c.id))
    return [r["action"] for r in rows]


def floor_shares(shares: Decimal) -> int:
    return int(shares // 1)


# -- a market's whole life --------------------------------------------------------------------------------


async def test_market_life(database: Database) -> None:
    alice, bob = member(1), member(2)
    market = await act(
        database,
        alice,
        MarketView,
        lambda uow: markets.create_market(
            uow, alice, markets.CreateMarket(question="Will it rain?", outcomes=["Yes", "No"], liquidity=1000)
        ),
    )
    assert market.number == 1
    receipt = await trade(database, bob, Side.BUY, 1, 0, amount=100)
    assert receipt.balance == 900
    sold = await trade(database, bob, Side.SELL, 1, 0, shares=Decimal("10"))
    assert sold.points > 0
    settled = await act(database, alice, Settlement, lambda uow: settlement.resolve_market(uow, alice, 1, 0))
    assert settled.total_paid == int(receipt.shares - Decimal("10"))
    await assert_books_balance(database)
    board = await query(database, lambda uow: queries.leaderboard(uow, GUILD))
    assert board.entries[0].user_id == 2


# -- creating markets --------------------------------------------------------------------------------------


async def test_markets_are_numbered_per_guild_and_funded_by_the_house(database: Database) -> None:
    alice, elsewhere = member(ALICE), member(ALICE, guild=OTHER_GUILD)
    first = await create(database, alice, liquidity=500)
    second = await create(database, alice, outcomes=("A", "B", "C"), liquidity=300)
    other = await create(database, elsewhere)
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.status == "open" and first.creator_id == ALICE and first.outcomes == ["Yes", "No"]
    assert first.probabilities == [Decimal("0.5"), Decimal("0.5")]
    assert sum(second.probabilities) == pytest.approx(Decimal(1))
    assert await pool_balance(database, first.id) == 500
    assert await pool_balance(database, second.id) == 300
    assert await house_balance(database) == -800
    assert await house_balance(database, OTHER_GUILD) == -1000
    shown = await query(database, lambda uow: queries.show_market(uow, GUILD, 2))
    assert shown.id == second.id and shown.liquidity == 300
    with pytest.raises(ValidationError):
        await create(database, alice, liquidity=5)
    with pytest.raises(NotFound):
        await query(database, lambda uow: queries.show_market(uow, GUILD, 3))
    # The refused create consumed no number.
    assert (await create(database, alice)).number == 3
    await assert_books_balance(database)


async def test_creator_role_restricts_who_may_create(database: Database) -> None:
    boss = member(ADMIN, admin=True)
    await configure(database, boss, creator_role_id=CREATOR_ROLE)
    with pytest.raises(Forbidden):
        await create(database, member(BOB))
    with pytest.raises(Forbidden):
        await create(database, member(BOB, roles=frozenset({RESOLVER_ROLE})))
    assert (await create(database, member(BOB, roles=frozenset({CREATOR_ROLE})))).number == 1
    assert (await create(database, boss)).number == 2  # managers need no role
    await configure(database, boss, clear_creator_role=True)
    assert (await create(database, member(CAROL))).number == 3
    await assert_books_balance(database)


async def test_search_finds_markets_by_number_or_by_every_word_of_the_question(database: Database) -> None:
    alice = member(ALICE)
    for question in (
        "Will it rain tomorrow?",
        "Will 100% of us come?",
        "Rain or snow_fall by May 2?",
        "Will snowXfall happen to 100 people?",
    ):
        await create(database, alice, question=question)
    await create(database, member(ALICE, guild=OTHER_GUILD), question="Rain elsewhere?")
    await close(database, alice, 3)
    anything = (MarketStatus.OPEN, MarketStatus.CLOSED)

    async def search(text: str, statuses: tuple[MarketStatus, ...] = (MarketStatus.OPEN,)) -> list[int]:
        found = await query(database, lambda uow: queries.search_markets(uow, GUILD, text, statuses=statuses))
        return [number for number, _ in found]

    assert await query(database, lambda uow: queries.search_markets(uow, GUILD, "RAIN")) == [
        (1, "Will it rain tomorrow?")
    ]  # any case, open markets of this server only
    assert await search("rain", anything) == [3, 1]  # newest first
    assert await search("come will") == [2]  # every word, in any order
    assert await search("100%") == [2]  # a % is only a %
    assert await search("snow_fall", anything) == [3]  # an _ is only an _
    assert await search("#2", anything) == [2, 3]  # the market numbered 2 first, then questions with a 2
    assert await search("#2") == [2]
    assert await search("#99") == []
    assert await search("") == [4, 2, 1]  # nothing typed: the newest open markets
    await assert_books_balance(database)


# -- trading -----------------------------------------------------------------------------------------------


async def test_buy_and_sell_receipts(database: Database) -> None:
    alice, bob = member(ALICE), member(BOB)
    market = await create(database, alice)
    expected = lmsr.buy(lmsr.new_market(2, 1000), 0, 100)

    bought = await buy(database, bob, 1, 0, 100)
    assert (bought.side, bought.outcome, bought.points) == ("buy", 0, 100)
    assert bought.balance == START - 100 == await balance(database, BOB)
    assert bought.shares == expected.shares and bought.shares_held == expected.shares
    assert bought.probability_before == Decimal("0.5")
    assert bought.probability_after == expected.price_after > Decimal("0.5")
    assert bought.market.probabilities[0] == bought.probability_after
    assert bought.market.trade_count == 1 and bought.market.volume == 100

    sold = await sell(database, bob, 1, 0, Decimal("50"))
    assert sold.side == "sell" and sold.shares == Decimal("50")
    assert 0 < sold.points < 50
    assert sold.shares_held == expected.shares - 50
    assert sold.balance == START - 100 + sold.points == await balance(database, BOB)
    assert sold.probability_before == bought.probability_after
    assert sold.probability_after < sold.probability_before
    assert sold.market.trade_count == 2 and sold.market.volume == 100 + sold.points

    rest = await sell(database, bob, 1, 0, None)  # sell everything left
    assert rest.shares == expected.shares - 50 and rest.shares_held == 0

    [position] = await fetch(database, sa.select(positions))
    assert position["shares"] == 0 and position["paid_in"] == 100
    assert position["taken_out"] == sold.points + rest.points
    trade_rows = await fetch(database, sa.select(trades).order_by(trades.c.id))
    assert [(t["side"], t["points"]) for t in trade_rows] == [
        ("buy", 100),
        ("sell", sold.points),
        ("sell", rest.points),
    ]
    assert await pool_balance(database, market.id) == 1000 + 100 - sold.points - rest.points
    await assert_books_balance(database)


async def test_sell_more_than_held_is_refused(database: Database) -> None:
    alice, bob = member(ALICE), member(BOB)
    await create(database, alice)
    with pytest.raises(NotFound):
        await sell(database, bob, 1, 0, Decimal(1))  # holds nothing
    bought = await buy(database, bob, 1, 0, 100)
    with pytest.raises(InsufficientBalance):
        await sell(database, bob, 1, 0, bought.shares + Decimal("0.000001"))
    with pytest.raises(NotFound):
        await sell(database, bob, 1, 1, Decimal(1))  # holds none of the other outcome
    assert await balance(database, BOB) == START - 100
    assert (await query(database, lambda uow: queries.show_market(uow, GUILD, 1))).trade_count == 1
    await assert_books_balance(database)


async def test_buy_is_refused_when_the_market_is_closed(database: Database) -> None:
    alice, bob = member(ALICE), member(BOB)
    await create(database, alice, closes_in=timedelta(hours=1))
    await buy(database, bob, 1, 0, 10)

    # Past its close time but not yet closed by the scheduler: still refused.
    later = datetime.now(UTC) + timedelta(hours=2)
    with pytest.raises(MarketNotOpen):
        await trade(database, bob, Side.BUY, 1, 0, amount=10, clock=lambda: later)
    with pytest.raises(MarketNotOpen):
        await trade(database, bob, Side.SELL, 1, 0, clock=lambda: later)

    await close(database, alice, 1)
    with pytest.raises(MarketNotOpen):
        await buy(database, bob, 1, 0, 10)
    with pytest.raises(MarketNotOpen):
        await sell(database, bob, 1, 0, None)
    with pytest.raises(NotFound):
        await buy(database, bob, 2, 0, 10)
    with pytest.raises(ValidationError):
        await buy(database, bob, 1, 5, 10)
    assert await balance(database, BOB) == START - 10
    await assert_books_balance(database)


async def test_stakes_are_capped_by_max_stake_and_balance(database: Database) -> None:
    boss, alice, bob = member(ADMIN, admin=True), member(ALICE), member(BOB)
    await configure(database, boss, max_stake=300)
    await create(database, alice)
    with pytest.raises(ValidationError, match="maximum"):
        await buy(database, bob, 1, 0, 301)
    with pytest.raises(ValidationError):
        await buy(database, bob, 1, 0, 0)
    assert (await buy(database, bob, 1, 0, 300)).balance == START - 300
    with pytest.raises(InsufficientBalance):
        await buy(database, bob, 1, 0, START - 300 + 1)
    everything = await buy(database, bob, 1, 1, None)  # "all in" is capped at the max stake
    assert everything.points == 300 and everything.balance == START - 600
    await buy(database, bob, 1, 1, 300)
    assert (await buy(database, bob, 1, 0, None)).points == START - 900  # "all in" is capped at the balance
    with pytest.raises(InsufficientBalance):
        await buy(database, bob, 1, 1, None)  # nothing left to stake
    assert await balance(database, BOB) == 0
    await assert_books_balance(database)


# -- settling ----------------------------------------------------------------------------------------------


async def test_resolve_pays_whole_winning_shares_and_returns_the_rest_to_the_house(database: Database) -> None:
    alice, bob, carol, dave = member(ALICE), member(BOB), member(CAROL), member(DAVE)
    market = await create(database, alice)
    b1 = await buy(database, bob, 1, 0, 200)
    c1 = await buy(database, carol, 1, 0, 150)
    d1 = await buy(database, dave, 1, 1, 300)
    b2 = await sell(database, bob, 1, 0, Decimal("10.5"))
    house_before = await house_balance(database)
    pool_before = await pool_balance(database, market.id)
    assert pool_before == 1000 + 200 + 150 + 300 - b2.points

    settled = await resolve(database, alice, 1, 0)
    bob_pay, carol_pay = floor_shares(b1.shares - Decimal("10.5")), floor_shares(c1.shares)
    assert {(p.user_id, p.amount) for p in settled.payouts} == {(BOB, bob_pay), (CAROL, carol_pay)}
    assert settled.paid_count == 2
    assert settled.total_paid == bob_pay + carol_pay
    assert settled.house_return == pool_before - settled.total_paid > 0
    assert settled.market.status == "resolved" and settled.market.resolution == {"outcome": 0}
    assert settled.market.total_paid == settled.total_paid and settled.market.settled_at is not None
    assert await pool_balance(database, market.id) == 0
    assert await house_balance(database) == house_before + settled.house_return
    assert await balance(database, BOB) == START - 200 + b2.points + bob_pay
    assert await balance(database, CAROL) == START - 150 + carol_pay
    assert await balance(database, DAVE) == START - 300 == d1.balance
    with pytest.raises(MarketNotOpen):
        await buy(database, dave, 1, 0, 10)
    with pytest.raises(Conflict):
        await resolve(database, alice, 1, 1)
    with pytest.raises(Conflict):
        await cancel(database, alice, 1)
    portfolio = await query(database, lambda uow: queries.portfolio(uow, GUILD, BOB))
    assert portfolio.positions == []  # settled markets leave the portfolio
    await assert_books_balance(database)


async def test_weighted_resolution(database: Database) -> None:
    alice, bob, carol = member(ALICE), member(BOB), member(CAROL)
    market = await create(database, alice, outcomes=("Yes", "No", "Maybe"))
    b0 = await buy(database, bob, 1, 0, 100)
    b1 = await buy(database, bob, 1, 1, 50)
    c2 = await buy(database, carol, 1, 2, 80)
    pool_before = await pool_balance(database, market.id)
    with pytest.raises(ValidationError):
        await do(database, alice, Settlement, lambda uow, a: settlement.resolve_market_weighted(uow, a, 1, [50, 50]))
    with pytest.raises(ValidationError):
        await do(
            database, alice, Settlement, lambda uow, a: settlement.resolve_market_weighted(uow, a, 1, [50, 30, 30])
        )
    settled = await do(
        database, alice, Settlement, lambda uow, a: settlement.resolve_market_weighted(uow, a, 1, [60, 40, 0])
    )
    bob_pay = int((b0.shares * 60 + b1.shares * 40) // 100)
    assert {(p.user_id, p.amount) for p in settled.payouts} == {(BOB, bob_pay)}
    assert settled.paid_count == 1
    assert c2.shares > 0 and await balance(database, CAROL) == START - 80
    assert settled.market.resolution == {"weights": [60, 40, 0]}
    assert settled.house_return == pool_before - bob_pay
    assert await pool_balance(database, market.id) == 0
    await assert_books_balance(database)


async def test_settling_names_the_outcome_by_label_and_the_weights_as_written(database: Database) -> None:
    alice, bob = member(ALICE), member(BOB)
    await create(database, alice, outcomes=("Yes", "No", "Maybe"))
    second = await create(database, alice, outcomes=("Yes", "No", "Maybe"))
    no = await buy(database, bob, 1, 1, 100)
    b0 = await buy(database, bob, 2, 0, 100)
    b1 = await buy(database, bob, 2, 1, 50)
    with pytest.raises(ValidationError):
        await resolve(database, alice, 1, "Purple")
    assert (await query(database, lambda uow: queries.show_market(uow, GUILD, 1))).status == "open"
    settled = await resolve(database, alice, 1, "no")
    assert settled.market.resolution == {"outcome": 1}
    assert {(p.user_id, p.amount) for p in settled.payouts} == {(BOB, floor_shares(no.shares))}

    pool_before = await pool_balance(database, second.id)
    for bad in ("Yes 60, No 30", "Yes 60, Purple 40", ""):
        with pytest.raises(ValidationError):
            await do(
                database, alice, Settlement, lambda uow, a, w=bad: settlement.resolve_market_weighted(uow, a, 2, w)
            )
    weighted = await do(
        database, alice, Settlement, lambda uow, a: settlement.resolve_market_weighted(uow, a, 2, "yes 60, No: 40%")
    )
    assert weighted.market.resolution == {"weights": [60, 40, 0]}  # Maybe, not mentioned, weighs 0
    bob_pay = int((b0.shares * 60 + b1.shares * 40) // 100)
    assert {(p.user_id, p.amount) for p in weighted.payouts} == {(BOB, bob_pay)}
    assert weighted.house_return == pool_before - bob_pay
    await assert_books_balance(database)


async def test_cancel_refunds_what_each_trader_put_in_net_of_sales(database: Database) -> None:
    alice, bob, carol = member(ALICE), member(BOB), member(CAROL)
    market = await create(database, alice)
    await buy(database, bob, 1, 0, 200)
    await buy(database, bob, 1, 1, 40)
    sold = await sell(database, bob, 1, 0, Decimal(20))
    await buy(database, carol, 1, 1, 150)
    pool_before = await pool_balance(database, market.id)
    house_before = await house_balance(database)

    settled = await cancel(database, alice, 1, "ambiguous question")
    refunds = {(p.user_id, p.amount) for p in settled.payouts}
    assert refunds == {(BOB, 240 - sold.points), (CAROL, 150)}
    assert settled.paid_count == 2
    assert settled.reason == "ambiguous question"
    assert settled.market.status == "cancelled"
    assert settled.house_return == pool_before - (240 - sold.points) - 150 == 1000  # the subsidy comes back
    assert await balance(database, BOB) == START and await balance(database, CAROL) == START
    assert await house_balance(database) == house_before + 1000
    assert await pool_balance(database, market.id) == 0
    reasons = await fetch(
        database,
        sa.select(transfers.c.reason, transfers.c.amount).where(
            transfers.c.market_id == market.id, transfers.c.reason == "refund"
        ),
    )
    assert sorted(r["amount"] for r in reasons) == sorted([240 - sold.points, 150])
    await assert_books_balance(database)


async def test_cancel_shares_the_pool_pro_rata_when_a_seller_took_out_a_profit(database: Database) -> None:
    # A thin market (liquidity 10): alice buys each side cheap, and sells it dear after bob and
    # carol pushed it up. Her profit leaves the pool short of what bob and carol paid in.
    alice, bob, carol, maker = member(ALICE), member(BOB), member(CAROL), member(DAVE)
    market = await create(database, maker, liquidity=10)
    a1 = await buy(database, alice, 1, 0, 100)
    await buy(database, bob, 1, 0, 900)
    s1 = await sell(database, alice, 1, 0, a1.shares)
    a2 = await buy(database, alice, 1, 1, 100)
    await buy(database, carol, 1, 1, 900)
    s2 = await sell(database, alice, 1, 1, a2.shares)
    alice_profit = s1.points + s2.points - 200
    pool = await pool_balance(database, market.id)
    assert pool == 10 + 1800 - alice_profit
    assert pool < 1800, "the scenario must leave the pool short"

    settled = await cancel(database, maker, 1)
    expected = lmsr.scale_to_fit({BOB: 900, CAROL: 900}, pool)
    assert expected[BOB] < 900
    assert {(p.user_id, p.amount) for p in settled.payouts} == set(expected.items())
    assert settled.paid_count == 2
    assert settled.total_paid == sum(expected.values()) <= pool
    assert settled.house_return == pool - settled.total_paid
    assert await balance(database, ALICE) == START + alice_profit  # she keeps her profit
    assert await balance(database, BOB) == START - 900 + expected[BOB]
    assert await pool_balance(database, market.id) == 0
    await assert_books_balance(database)


@pytest.mark.parametrize("action", ["close", "resolve", "cancel"])
async def test_only_creator_admin_or_resolver_may_settle(database: Database, action: str) -> None:
    boss, alice, bob = member(ADMIN, admin=True), member(ALICE), member(BOB)
    resolver = member(CAROL, roles=frozenset({RESOLVER_ROLE}))
    stranger = member(DAVE, roles=frozenset({CREATOR_ROLE}))
    manager = Actor(guild_id=GUILD, user_id=15, is_manager=True)  # Manage Server, as the Discord layer reads it

    async def run(who: Actor, number: int) -> BaseModel:
        if action == "close":
            return await close(database, who, number)
        if action == "resolve":
            return await resolve(database, who, number, 0)
        return await cancel(database, who, number)

    await configure(database, boss, resolver_role_id=RESOLVER_ROLE)
    allowed = [alice, boss, manager, resolver]
    for _ in allowed:
        await create(database, alice)
    await buy(database, bob, 1, 0, 100)
    for number, who in enumerate(allowed, start=1):
        with pytest.raises(Forbidden):
            await run(stranger, number)
        with pytest.raises(Forbidden):
            await run(bob, number)  # a trader is not the creator
        await run(who, number)
    statuses = [m.status for m in await query(database, lambda uow: queries.list_markets(uow, GUILD, None))]
    expected = {"close": "closed", "resolve": "resolved", "cancel": "cancelled"}[action]
    assert statuses == [expected] * len(allowed)
    with pytest.raises(Conflict):
        await run(alice, 1)  # a second time
    with pytest.raises(NotFound):
        await run(alice, 99)
    # Without the resolver role configured, the role grants nothing.
    await configure(database, boss, clear_resolver_role=True)
    await create(database, alice)
    with pytest.raises(Forbidden):
        await run(resolver, len(allowed) + 1)
    await assert_books_balance(database)


async def test_a_closed_market_can_still_be_resolved_or_cancelled(database: Database) -> None:
    alice, bob = member(ALICE), member(BOB)
    await create(database, alice)
    await create(database, alice)
    bought = await buy(database, bob, 1, 0, 100)
    await buy(database, bob, 2, 0, 100)
    await close(database, alice, 1)
    await close(database, alice, 2)
    settled = await resolve(database, alice, 1, 0)
    assert settled.total_paid == floor_shares(bought.shares)
    assert (await cancel(database, alice, 2)).total_paid == 100
    await assert_books_balance(database)


# -- wallet ------------------------------------------------------------------------------------------------


async def test_daily_bonus_once_per_day(database: Database) -> None:
    bob = member(BOB)
    first = await daily(database, bob)
    assert first.claimed and first.amount == 100 and first.balance == START + 100
    again = await daily(database, bob)
    assert not again.claimed and again.amount == 0 and again.balance == START + 100
    assert again.next_claim_at == first.next_claim_at > datetime.now(UTC) + timedelta(hours=23)
    tomorrow = first.next_claim_at + timedelta(seconds=1)
    later = await daily(database, bob, at=tomorrow)
    assert later.claimed and later.balance == START + 200
    assert later.next_claim_at == tomorrow + timedelta(hours=24)
    bonuses = await fetch(database, sa.select(transfers).where(transfers.c.reason == "daily_bonus"))
    assert len(bonuses) == 2
    await assert_books_balance(database)


async def test_give_moves_points_between_members(database: Database) -> None:
    bob, carol = member(BOB), member(CAROL)
    receipt = await give(database, bob, CAROL, 250)
    assert (receipt.balance, receipt.recipient_balance) == (START - 250, START + 250)
    assert await balance(database, BOB) == START - 250 and await balance(database, CAROL) == START + 250
    with pytest.raises(ValidationError):
        await give(database, bob, BOB, 1)
    with pytest.raises(ValidationError):
        await give(database, bob, CAROL, 0)
    with pytest.raises(InsufficientBalance):
        await give(database, bob, CAROL, START - 250 + 1)
    with pytest.raises(InsufficientBalance):
        await give(database, member(DAVE), CAROL, START + 1)  # a new member has only the starting grant
    assert (await give(database, carol, BOB, START + 250)).balance == 0
    assert await balance(database, BOB) == 2 * START - 250 + 250
    gifts = await fetch(database, sa.select(transfers).where(transfers.c.reason == "gift"))
    assert len(gifts) == 2
    await assert_books_balance(database)


async def test_grant_is_for_managers_only(database: Database) -> None:
    boss, bob = member(ADMIN, admin=True), member(BOB)
    with pytest.raises(Forbidden):
        await grant(database, bob, BOB, 500)
    with pytest.raises(Forbidden):
        await grant(database, member(CAROL, roles=frozenset({RESOLVER_ROLE})), BOB, 500)
    receipt = await grant(database, boss, BOB, 500)
    assert receipt.balance == START + 500 and receipt.reason == "test"
    with pytest.raises(ValidationError):
        await grant(database, boss, BOB, 0)
    assert await balance(database, BOB) == START + 500
    # The house issued the starting grant and the admin grant.
    assert await house_balance(database) == -(START + 500)
    await assert_books_balance(database)


async def test_config_is_for_managers_and_bounded(database: Database) -> None:
    boss, bob = member(ADMIN, admin=True), member(BOB)
    with pytest.raises(Forbidden):
        await configure(database, bob, daily_bonus=5)
    for bad in (
        {"max_stake": 0},
        {"default_liquidity": 5},
        {"starting_balance": -1},
        {"daily_bonus": 10**9 + 1},
        {"default_duration_seconds": 59},
        {"currency_name": "  "},
    ):
        with pytest.raises(ValidationError):
            await configure(database, boss, **bad)
    config = await configure(
        database, boss, starting_balance=50, daily_bonus=7, currency_name="beans", default_liquidity=200, max_stake=40
    )
    assert (config.starting_balance, config.daily_bonus, config.currency_name) == (50, 7, "beans")
    assert await query(database, lambda uow: admin.get_config(uow, bob)) == config
    claim = await daily(database, bob)  # opens bob's account with the new starting balance
    assert claim.balance == 57 and claim.currency == "beans"
    market = await create(database, bob, liquidity=None)
    assert market.liquidity == 200 and market.currency == "beans"
    with pytest.raises(ValidationError):
        await buy(database, bob, 1, 0, 41)
    assert await query(database, lambda uow: admin.get_config(uow, member(BOB, guild=OTHER_GUILD))) != config
    assert (await audit_actions(database)).count("guild.config") == 1  # refused changes leave no trace
    await assert_books_balance(database)


# -- audit trail, scheduler, idempotency ----------------------------------------------------------------


async def test_every_state_change_is_audited(database: Database) -> None:
    boss, alice, bob = member(ADMIN, admin=True), member(ALICE), member(BOB)
    actor = fresh(boss)
    await act(database, actor, GuildConfig, lambda uow: admin.update_config(uow, actor, ConfigChange(daily_bonus=5)))
    await create(database, alice)
    await create(database, alice)
    await create(database, alice)
    await buy(database, bob, 1, 0, 50)
    await sell(database, bob, 1, 0, Decimal(5))
    await daily(database, bob)
    await daily(database, bob)  # refused: no state change, no audit row
    await give(database, bob, ALICE, 5)
    await grant(database, boss, BOB, 5)
    await close(database, alice, 1)
    await resolve(database, alice, 1, 0)
    await do(database, alice, Settlement, lambda uow, a: settlement.resolve_market_weighted(uow, a, 2, [50, 50]))
    await cancel(database, alice, 3, "oops")
    with pytest.raises(InsufficientBalance):
        await give(database, bob, ALICE, 10**6)  # refused: no audit row

    rows = await fetch(database, sa.select(audit_events).order_by(audit_events.c.id))
    assert [r["action"] for r in rows] == [
        "guild.config",
        "market.create",
        "market.create",
        "market.create",
        "trade.buy",
        "trade.sell",
        "wallet.daily",
        "wallet.give",
        "admin.grant",
        "market.close",
        "market.resolve",
        "market.resolve",
        "market.cancel",
    ]
    assert rows[0]["actor_id"] == ADMIN and rows[0]["interaction_id"] == actor.interaction_id
    assert rows[0]["details"] == {"daily_bonus": 5}
    assert all(r["interaction_id"] is not None and r["guild_id"] == GUILD for r in rows)
    assert rows[4]["actor_id"] == BOB and rows[4]["details"]["points"] == 50 and rows[4]["details"]["number"] == 1
    assert rows[7]["details"] == {"to_user_id": ALICE, "amount": 5}
    assert rows[12]["details"]["cancelled"] == "oops"
    market_ids = {r["number"]: r["id"] for r in await fetch(database, sa.select(markets_table))}
    assert [r["market_id"] for r in rows[9:]] == [market_ids[1], market_ids[1], market_ids[2], market_ids[3]]
    await assert_books_balance(database)


async def test_close_expired_markets_closes_only_expired_ones_and_is_repeatable(database: Database) -> None:
    alice = member(ALICE)
    await create(database, alice, closes_in=timedelta(minutes=5))
    await create(database, alice, closes_in=timedelta(hours=2))
    await create(database, alice, closes_in=timedelta(minutes=1))
    await create(database, alice, closes_in=timedelta(minutes=1))
    await close(database, alice, 4)
    await create(database, member(ALICE, guild=OTHER_GUILD), closes_in=timedelta(minutes=1))

    async def sweep(at: datetime) -> list[tuple[int, int]]:
        return await query(database, lambda uow: markets.close_expired_markets(uow, at))

    now = datetime.now(UTC)
    assert await sweep(now) == []
    closed = await sweep(now + timedelta(minutes=10))
    assert sorted(closed) == [(GUILD, 1), (GUILD, 3), (OTHER_GUILD, 1)]
    assert await sweep(now + timedelta(minutes=10)) == []  # a repeated run is a no-op
    rows = await fetch(
        database,
        sa.select(markets_table.c.guild_id, markets_table.c.number, markets_table.c.status, markets_table.c.closed_at),
    )
    status = {(r["guild_id"], r["number"]): r["status"] for r in rows}
    assert status == {
        (GUILD, 1): "closed",
        (GUILD, 2): "open",
        (GUILD, 3): "closed",
        (GUILD, 4): "closed",
        (OTHER_GUILD, 1): "closed",
    }
    with pytest.raises(MarketNotOpen):
        await buy(database, member(BOB), 1, 0, 10)
    await buy(database, member(BOB), 2, 0, 10)
    assert sorted(await sweep(now + timedelta(hours=3))) == [(GUILD, 2)]
    # Each close is audited once, as done by the system (actor 0); market 4 was closed by its creator.
    closes = await fetch(
        database, sa.select(audit_events).where(audit_events.c.action == "market.close").order_by(audit_events.c.id)
    )
    assert sorted((r["guild_id"], r["details"]["number"]) for r in closes if r["actor_id"] == 0) == [
        (GUILD, 1),
        (GUILD, 2),
        (GUILD, 3),
        (OTHER_GUILD, 1),
    ]
    assert all(r["details"].get("expired") for r in closes if r["actor_id"] == 0)
    assert [r["actor_id"] for r in closes].count(ALICE) == 1
    await assert_books_balance(database)


async def test_a_repeated_interaction_applies_once(database: Database) -> None:
    alice, bob = member(ALICE), member(BOB)
    await create(database, alice)
    actor = fresh(bob)
    first = await trade(database, actor, Side.BUY, 1, 0, amount=100)
    again = await trade(database, actor, Side.BUY, 1, 0, amount=100)
    assert again == first
    assert await balance(database, BOB) == START - 100
    assert len(await fetch(database, sa.select(trades))) == 1
    # The recorded answer comes back even though replaying the request would now fail.
    gift = fresh(bob)
    sent = await act(database, gift, GiftReceipt, lambda uow: wallet.give(uow, gift, CAROL, START - 100))
    assert await act(database, gift, GiftReceipt, lambda uow: wallet.give(uow, gift, CAROL, START - 100)) == sent
    assert await balance(database, BOB) == 0
    records = await fetch(database, sa.select(interaction_records.c.id))
    assert {r["id"] for r in records} >= {actor.interaction_id, gift.interaction_id}
    # A refused request records nothing, so the member may retry it under the same id.
    retry = fresh(bob)
    with pytest.raises(InsufficientBalance):
        await trade(database, retry, Side.BUY, 1, 0, amount=1)
    await daily(database, bob)
    assert (await trade(database, retry, Side.BUY, 1, 0, amount=1)).points == 1
    # A redelivered "everything" buy or "sell all" would now be refused if run again: the recorded answer.
    for side, amount in ((Side.BUY, None), (Side.SELL, None)):
        once = fresh(bob)
        done = await trade(database, once, side, 1, 0, amount=amount)
        assert await trade(database, once, side, 1, 0, amount=amount) == done
    await assert_books_balance(database)


async def test_verify_ledger_names_a_corrupted_balance(database: Database) -> None:
    await give(database, member(BOB), CAROL, 10)
    await assert_books_balance(database)

    async def corrupt(uow: UnitOfWork) -> list[str]:
        bump = sa.update(accounts).where(accounts.c.user_id == BOB).values(balance=accounts.c.balance + 7)
        await uow.conn.execute(bump)
        return await verify_ledger(uow)  # rolled back afterwards

    problems = await query(database, corrupt)
    assert any("balance 997 but its ledger entries sum to 990" in p for p in problems)
    assert any("balances sum to 7" in p for p in problems)
    await assert_books_balance(database)


# -- Postgres refuses to rewrite history -------------------------------------------------------------------


@pytest.mark.parametrize("table", ["transfers", "audit_events"])
async def test_ledger_and_audit_rows_are_append_only(pg_database: Database, table: str) -> None:
    await give(pg_database, member(BOB), CAROL, 10)
    for statement in (f"UPDATE {table} SET created_at = created_at", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            await query(pg_database, lambda uow, s=statement: uow.conn.execute(sa.text(s)))
    assert len(await fetch(pg_database, sa.text(f"SELECT id FROM {table}"))) >= 1
    await assert_books_balance(pg_database)
