"""Forecasting records on the real databases (`app/persistence/scores.py`): written as markets resolve,
summed per member, taken back out when a resolution is undone."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.domain import limits, lmsr
from app.domain.market import Side
from app.domain.records import RankBy, brier_scores, market_results, resolved_vector
from app.persistence.database import Database
from app.persistence.unit_of_work import UnitOfWork
from app.services import markets, records, settlement
from app.services.results import MarketView, Settlement
from app.services.verify import verify_ledger
from models.tables import market_results as result_rows
from models.tables import markets as market_rows
from models.tables import member_records, trades
from tests.persistence.helpers import GUILD, act, member, query, trade

ALICE, BOB, CAROL = 21, 22, 23
MANAGER = member(1, admin=True)


async def _market(database: Database, question: str, outcomes: list[str]) -> int:
    cmd = markets.CreateMarket(question=question, outcomes=outcomes, liquidity=1000)
    created = await act(database, member(ALICE), MarketView, lambda uow: markets.create_market(uow, member(ALICE), cmd))
    return created.number


async def _last_trade_saw(database: Database, user_id: int, number: int, prices: list[str]) -> None:
    """Set what the member's last trade in the market left the prices at: round numbers to score by hand."""

    async def work(uow: UnitOfWork) -> None:
        last = await uow.conn.scalar(
            sa.select(sa.func.max(trades.c.id)).where(
                trades.c.user_id == user_id, trades.c.market_id == (await uow.markets.get(GUILD, number)).id
            )
        )
        await uow.conn.execute(sa.update(trades).where(trades.c.id == last).values(prices_after=prices))
        await uow.commit()

    await query(database, work)


async def _resolve(database: Database, number: int, outcome: str) -> Settlement:
    return await act(
        database, MANAGER, Settlement, lambda uow: settlement.resolve_market(uow, MANAGER, number, outcome)
    )


async def test_the_brier_score_matches_a_hand_computed_example(database: Database) -> None:
    yes_no = await _market(database, "Rain?", ["Yes", "No"])
    await trade(database, member(BOB), Side.BUY, yes_no, "Yes", amount=50)
    await _last_trade_saw(database, BOB, yes_no, ["0.7", "0.3"])
    three = await _market(database, "Which colour?", ["Red", "Green", "Blue"])
    await trade(database, member(BOB), Side.BUY, three, "Red", amount=40)  # an earlier trade: not the forecast
    await trade(database, member(BOB), Side.BUY, three, "Blue", amount=20)
    await _last_trade_saw(database, BOB, three, ["0.5", "0.3", "0.2"])

    await _resolve(database, yes_no, "Yes")
    await _resolve(database, three, "Blue")

    view = await query(database, lambda uow: records.stats(uow, GUILD, BOB))
    # Rain? resolved Yes at 70/30: (0.7 - 1)^2 + 0.3^2 = 0.18; the colours resolved Blue at 50/30/20:
    # 0.5^2 + 0.3^2 + (0.2 - 1)^2 = 0.98; the mean of the two is 0.58.
    assert view.brier == Decimal("0.58") and view.scored == 2
    assert (view.markets_traded, view.resolved, view.staked) == (2, 2, 110)
    rows = await query(database, _results)
    assert sorted(brier for _, _, brier in rows) == [180_000, 980_000]


async def _results(uow: UnitOfWork) -> list[tuple[int, int, int | None]]:
    query = sa.select(result_rows.c.market_id, result_rows.c.account_id, result_rows.c.brier)
    return [tuple(row) for row in await uow.conn.execute(query)]  # type: ignore[misc]


async def test_records_add_up_per_member_and_rank_by_profit(database: Database) -> None:
    first = await _market(database, "First?", ["Yes", "No"])
    second = await _market(database, "Second?", ["Yes", "No"])
    for number in (first, second):
        await trade(database, member(BOB), Side.BUY, number, "Yes", amount=100)
        await trade(database, member(CAROL), Side.BUY, number, "No", amount=60)
    paid = [await _resolve(database, n, "Yes") for n in (first, second)]
    bob_payouts = sum(p.amount for s in paid for p in s.payouts if p.user_id == BOB)

    bob = await query(database, lambda uow: records.stats(uow, GUILD, BOB))
    assert (bob.resolved, bob.won, bob.staked, bob.profit) == (2, 2, 200, bob_payouts - 200)
    board = await query(database, lambda uow: records.ranked_by(uow, GUILD, RankBy.PROFIT, 10))
    assert [(e.user_id, e.profit) for e in board.entries] == [(BOB, bob_payouts - 200), (CAROL, -120)]


async def test_undoing_a_resolution_takes_its_results_back_out(database: Database) -> None:
    kept = await _market(database, "Kept?", ["Yes", "No"])
    undone = await _market(database, "Undone?", ["Yes", "No"])
    for number in (kept, undone):
        await trade(database, member(BOB), Side.BUY, number, "Yes", amount=100)
    await _resolve(database, kept, "Yes")
    before = await query(database, lambda uow: records.stats(uow, GUILD, BOB))
    await _resolve(database, undone, "No")
    assert (await query(database, lambda uow: records.stats(uow, GUILD, BOB))).resolved == 2

    async def unsettle(uow: UnitOfWork) -> None:
        market = await uow.markets.get(GUILD, undone)
        assert market is not None
        await uow.scores.unsettle(market.id)
        await uow.commit()

    await query(database, unsettle)
    after = await query(database, lambda uow: records.stats(uow, GUILD, BOB))
    assert after == before
    assert len(await query(database, _results)) == 1


async def test_the_record_row_is_the_sum_of_the_results(database: Database) -> None:
    for question in ("A?", "B?", "C?"):
        number = await _market(database, question, ["Yes", "No"])
        await trade(database, member(BOB), Side.BUY, number, "No", amount=30)
        await trade(database, member(CAROL), Side.BUY, number, "Yes", amount=30)
        await _resolve(database, number, "Yes")

    async def compare(uow: UnitOfWork) -> None:
        r = result_rows.c
        sums = sa.select(
            r.account_id,
            sa.func.count(),
            sa.func.sum(r.paid_in),
            sa.func.sum(r.payout + r.taken_out - r.paid_in),
            sa.func.sum(r.brier),
        ).group_by(r.account_id)
        expected = {row[0]: tuple(int(v) for v in row[1:]) for row in await uow.conn.execute(sums)}
        m = member_records.c
        kept = sa.select(m.account_id, m.resolved, m.staked, m.profit, m.brier_total)
        assert {row[0]: tuple(int(v) for v in row[1:]) for row in await uow.conn.execute(kept)} == expected

    await query(database, compare)


async def test_verify_ledger_sees_a_record_that_is_not_the_sum_of_its_results(database: Database) -> None:
    number = await _market(database, "Checked?", ["Yes", "No"])
    await trade(database, member(BOB), Side.BUY, number, "Yes", amount=40)
    await _resolve(database, number, "Yes")
    assert await query(database, verify_ledger) == []

    async def tamper(uow: UnitOfWork) -> None:
        await uow.conn.execute(sa.update(member_records).values(profit=member_records.c.profit + 1))
        await uow.conn.execute(sa.update(market_rows).values(status="cancelled"))
        await uow.commit()

    await query(database, tamper)
    problems = "\n".join(await query(database, verify_ledger))
    assert "forecasting record is not the sum of its market results" in problems
    assert "is not resolved but still has forecasting results" in problems


async def test_accuracy_ranks_from_the_minimum_of_markets_as_results_accumulate(database: Database) -> None:
    for n in range(limits.ACCURACY_MIN_MARKETS):
        number = await _market(database, f"Q{n}?", ["Yes", "No"])
        await trade(database, member(BOB), Side.BUY, number, "Yes", amount=30)
        await trade(database, member(CAROL), Side.BUY, number, "No", amount=30)
        if n == limits.ACCURACY_MIN_MARKETS - 2:
            board = await query(database, lambda uow: records.ranked_by(uow, GUILD, RankBy.ACCURACY, 10))
            assert board.entries == []
        await _resolve(database, number, "Yes")
    board = await query(database, lambda uow: records.ranked_by(uow, GUILD, RankBy.ACCURACY, 10))
    assert [(e.user_id, e.scored) for e in board.entries] == [(BOB, 5), (CAROL, 5)]
    bob = await query(database, lambda uow: records.stats(uow, GUILD, BOB))
    carol = await query(database, lambda uow: records.stats(uow, GUILD, CAROL))
    assert board.entries[0].brier == bob.brier < carol.brier == board.entries[1].brier
    assert await query(database, verify_ledger) == []  # the ranked value is the one the results give


async def test_each_holders_result_is_what_the_domain_computes_from_their_holding(database: Database) -> None:
    number = await _market(database, "Which colour?", ["Red", "Green", "Blue"])
    await trade(database, member(BOB), Side.BUY, number, "Red", amount=40)
    await trade(database, member(BOB), Side.BUY, number, "Blue", amount=25)  # two positions, one result
    await trade(database, member(CAROL), Side.BUY, number, "Green", amount=60)
    await trade(database, member(CAROL), Side.SELL, number, "Green", shares=Decimal(10))  # took some out
    await trade(database, member(ALICE), Side.BUY, number, "Blue", amount=30)
    await trade(database, member(ALICE), Side.SELL, number, "Blue")  # sold out: holds nothing, still a holder

    async def expected(uow: UnitOfWork) -> dict[int, tuple[int, int, int, int, int | None]]:
        market = await uow.markets.get(GUILD, number)
        assert market is not None
        holdings = await uow.positions.holdings(market.id)
        weights = [50, 0, 50]
        payouts = lmsr.weighted_payouts({h.account_id: h.shares for h in holdings}, weights)
        happened = resolved_vector({"weights": weights}, 3)
        assert happened is not None
        scores = brier_scores(await uow.scores.last_prices(market.id), happened)
        holders = [(h.account_id, h.user_id, h.paid_in, h.taken_out) for h in holdings]
        return {
            r.user_id: (r.paid_in, r.taken_out, r.payout, r.profit, r.brier)
            for r in market_results(holders, payouts, scores)
        }

    want = await query(database, expected)
    await act(
        database,
        MANAGER,
        Settlement,
        lambda uow: settlement.resolve_market_weighted(uow, MANAGER, number, "Red 50, Blue 50"),
    )

    async def written(uow: UnitOfWork) -> dict[int, tuple[int, int, int, int, int | None]]:
        r = result_rows.c
        rows = await uow.conn.execute(sa.select(r.user_id, r.guild_id, r.paid_in, r.taken_out, r.payout, r.brier))
        assert {row.guild_id for row in rows.all()} == {GUILD}
        rows = await uow.conn.execute(sa.select(r.user_id, r.paid_in, r.taken_out, r.payout, r.brier))
        return {u: (paid, taken, payout, payout + taken - paid, brier) for u, paid, taken, payout, brier in rows}

    got = await query(database, written)
    assert got == want and set(got) == {ALICE, BOB, CAROL}
    assert all(brier is not None for *_, brier in got.values())
    assert got[ALICE][1] > 0 and got[ALICE][2] == 0  # sold out before the resolution: paid nothing
    assert await query(database, verify_ledger) == []
