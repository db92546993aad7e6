"""A market's price chart (`app/services/charts.py`), from the price history the worker keeps."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.domain.events import AggregateType, StoredEvent, TradeExecuted
from app.domain.price_history import MAX_POINTS, BucketPoint, ChartPeriod, PricePoint, bucket_of
from app.services.consumers.price_history import PriceHistory
from app.services.markets import CreateMarket
from app.services.ports import UnitOfWork
from app.services.trading_desk import TradingDesk
from app.services.use_cases import UseCases
from tests.services.conftest import ALICE, BOB, GUILD, fresh, member
from tests.support.fakes import START, FakeThrottle, FakeTransactions


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def setup() -> tuple[Clock, FakeTransactions, UseCases]:
    clock = Clock()
    transactions = FakeTransactions(clock=clock)
    return clock, transactions, UseCases(transactions, TradingDesk(transactions), FakeThrottle())


async def project(transactions: FakeTransactions, at: list[datetime]) -> None:
    """Run the recorded trades through the price-history consumer, as the worker would (the fakes keep events
    without times: `at` gives each trade's)."""
    history = PriceHistory(transactions)
    trades = [event for _, event in transactions.books.events if isinstance(event, TradeExecuted)]
    for sequence, (event, when) in enumerate(zip(trades, at, strict=True), start=2):
        await history(
            StoredEvent(
                id=str(sequence),
                type=event.TYPE,
                version=event.VERSION,
                aggregate_type=AggregateType.MARKET,
                aggregate_id=event.aggregate_id,
                sequence=sequence,
                guild_id=GUILD,
                occurred_at=when,
                actor_id=event.user_id,
                interaction_id=None,
                payload=event.payload(),
            )
        )
    await history.flush()


def yes(points: list[PricePoint]) -> list[tuple[datetime, float]]:
    return [(p.at, round(p.probabilities[0], 6)) for p in points]


async def test_a_chart_starts_even_steps_through_each_trade_and_ends_at_the_prices_now() -> None:
    clock, transactions, use_cases = setup()
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    first = await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    second = await use_cases.buy(fresh(member(BOB)), 1, "No", 300)
    t1, t2 = START + timedelta(hours=1), START + timedelta(hours=2)
    await project(transactions, [t1, t2])
    clock.now = START + timedelta(hours=3)

    chart = await use_cases.price_chart(GUILD, 1, ChartPeriod.ALL)

    assert chart.resolution == 60
    assert yes(chart.points) == [
        (START, 0.5),
        (t1, round(float(first.probability_after), 6)),
        (t2, round(float(1 - second.probability_after), 6)),
        (clock.now, round(float(chart.market.probabilities[0]), 6)),
    ]


async def test_a_period_starts_at_the_price_of_the_last_trade_before_it() -> None:
    clock, transactions, use_cases = setup()
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"], closes_in=None))
    early = await use_cases.buy(fresh(member(BOB)), 1, "Yes", 100)
    late = await use_cases.buy(fresh(member(BOB)), 1, "Yes", 50)
    t1, t2 = START + timedelta(hours=2), START + timedelta(days=2, hours=12)
    await project(transactions, [t1, t2])
    clock.now = START + timedelta(days=3)

    chart = await use_cases.price_chart(GUILD, 1, ChartPeriod.DAY)

    assert chart.resolution == 300
    assert yes(chart.points) == [
        (clock.now - timedelta(days=1), round(float(early.probability_after), 6)),
        (t2, round(float(late.probability_after), 6)),
        (clock.now, round(float(late.probability_after), 6)),
    ]


async def test_before_the_worker_has_kept_anything_a_chart_runs_from_even_to_now() -> None:
    clock, _, use_cases = setup()
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Red", "Green", "Blue", "Grey"]))
    receipt = await use_cases.buy(fresh(member(BOB)), 1, "Blue", 100)
    clock.now = START + timedelta(minutes=5)
    chart = await use_cases.price_chart(GUILD, 1, ChartPeriod.WEEK)
    assert [p.probabilities[2] for p in chart.points] == [0.25, float(receipt.probability_after)]


async def test_a_settled_market_is_charted_to_its_settlement() -> None:
    clock, _, use_cases = setup()
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    clock.now = START + timedelta(hours=5)
    await use_cases.resolve_market(fresh(member(ALICE)), 1, "Yes")
    clock.now = START + timedelta(days=40)
    chart = await use_cases.price_chart(GUILD, 1, ChartPeriod.ALL)
    assert chart.points[-1].at == START + timedelta(hours=5)


async def test_a_chart_never_reads_more_than_its_bound_of_buckets() -> None:
    clock, transactions, use_cases = setup()
    await use_cases.create_market(fresh(member(ALICE)), CreateMarket("Rain?", ["Yes", "No"]))
    market_id = next(iter(transactions.books.markets))
    days = MAX_POINTS + 300  # a market left unresolved for longer than the coarsest resolution covers

    async def keep(uow: UnitOfWork) -> None:
        points = [
            BucketPoint(
                86400,
                bucket_of(START + timedelta(days=d), 86400),
                d + 2,
                PricePoint(START + timedelta(days=d), (0.4, 0.6)),
            )
            for d in range(days)
        ]
        await uow.price_history.keep(market_id, points)
        await uow.commit()

    await transactions.run(keep)
    clock.now = START + timedelta(days=days)
    chart = await use_cases.price_chart(GUILD, 1, ChartPeriod.ALL)
    assert len(chart.points) == MAX_POINTS + 1  # the buckets read (the first is where it starts) and now
    assert chart.points[0].at == START + timedelta(days=days - MAX_POINTS)
