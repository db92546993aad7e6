"""Price history: each market's probabilities over time, kept at a few resolutions from `trade.executed`
events, so a chart reads a bounded number of points however many trades the market had.

A projection of the log rather than a write of the trade's own transaction: trades are the hot path (one
statement per batch, one lock per market) and stay exactly as they were; the history costs one statement per
worker batch per market, a chart lags the worker by a moment (and ends at the market's current prices, read
when it is drawn), and `events replay --consumer price_history` rebuilds it. Each point carries its event's
sequence, and a bucket keeps the latest, so a redelivered or replayed event never moves a chart back.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.events import StoredEvent
from app.domain.price_history import BucketPoint, PricePoint, buckets
from app.services.ports import Transactions, UnitOfWork


class PriceHistory:
    name = "price_history"
    types = frozenset({"trade.executed"})
    replayable = True  # it only writes Hunch's own table

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions
        self._pending: dict[int, dict[tuple[int, datetime], BucketPoint]] = {}  # market id -> its buckets

    async def __call__(self, event: StoredEvent) -> None:
        probabilities = tuple(float(p) for p in event.current_payload()["probabilities"])
        kept = self._pending.setdefault(event.aggregate_id, {})
        for point in buckets(PricePoint(event.occurred_at, probabilities), event.sequence):
            key = (point.resolution, point.bucket)
            held = kept.get(key)
            if held is None or held.sequence < point.sequence:
                kept[key] = point

    async def flush(self) -> None:
        """Write the batch's points, one statement per market, in one transaction (before the worker records
        the batch delivered: if this fails, the events come again)."""
        pending, self._pending = self._pending, {}
        if not pending:
            return

        async def keep(uow: UnitOfWork) -> None:
            for market_id, points in sorted(pending.items()):
                await uow.price_history.keep(market_id, list(points.values()))
            await uow.commit()

        await self._transactions.run(keep)
