"""The price-history projection on in-memory fakes: what it keeps of each trade, and that it never goes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.domain.events import AggregateType, StoredEvent
from app.domain.price_history import RESOLUTIONS, bucket_of
from app.services.consumers.price_history import PriceHistory
from tests.support.fakes import FakeTransactions

T0 = datetime(2026, 12, 6, 14, 0, 5, tzinfo=UTC)


def traded(market_id: int, sequence: int, at: datetime, yes: str) -> StoredEvent:
    no = str(1 - float(yes))
    return StoredEvent(
        id=f"e{market_id}-{sequence}",
        type="trade.executed",
        version=1,
        aggregate_type=AggregateType.MARKET,
        aggregate_id=market_id,
        sequence=sequence,
        guild_id=1,
        occurred_at=at,
        actor_id=11,
        interaction_id=None,
        payload={
            "number": 1,
            "user_id": 11,
            "side": "buy",
            "outcome": 0,
            "points": 10,
            "shares": 1,
            "probabilities": [yes, no],
            "volume": 10,
            "trade_count": sequence,
        },
    )


def kept(transactions: FakeTransactions, market_id: int, resolution: int) -> list[tuple[datetime, float, int]]:
    return sorted(
        (bucket, point.point.probabilities[0], point.sequence)
        for (m, r, bucket), point in transactions.books.price_points.items()
        if m == market_id and r == resolution
    )


async def test_each_bucket_keeps_the_prices_after_its_last_trade_in_one_write_per_batch() -> None:
    transactions = FakeTransactions()
    history = PriceHistory(transactions)
    for sequence, (offset, yes) in enumerate([(0, "0.55"), (20, "0.60"), (70, "0.52"), (400, "0.70")], start=2):
        await history(traded(7, sequence, T0 + timedelta(seconds=offset), yes))
    await history(traded(8, 2, T0, "0.30"))
    runs = transactions.runs
    await history.flush()

    assert transactions.runs == runs + 1  # both markets, every resolution: one transaction
    minute = 60
    assert kept(transactions, 7, minute) == [
        (T0.replace(second=0), 0.60, 3),
        (T0.replace(second=0) + timedelta(minutes=1), 0.52, 4),
        (T0.replace(second=0) + timedelta(minutes=6), 0.70, 5),
    ]
    assert kept(transactions, 7, 3600) == [(bucket_of(T0, 3600), 0.70, 5)]
    assert {r for (_, r, _) in transactions.books.price_points} == set(RESOLUTIONS)
    assert kept(transactions, 8, 86400) == [(bucket_of(T0, 86400), 0.30, 2)]


async def test_an_event_delivered_again_never_moves_a_bucket_back() -> None:
    transactions = FakeTransactions()
    history = PriceHistory(transactions)
    await history(traded(7, 2, T0, "0.55"))
    await history(traded(7, 3, T0 + timedelta(seconds=10), "0.65"))
    await history.flush()
    await history(traded(7, 2, T0, "0.55"))  # redelivered (or replayed) after the later one
    await history.flush()
    assert kept(transactions, 7, 60) == [(T0.replace(second=0), 0.65, 3)]


async def test_a_batch_without_trades_writes_nothing() -> None:
    transactions = FakeTransactions()
    history = PriceHistory(transactions)
    await history.flush()
    assert transactions.runs == 0
