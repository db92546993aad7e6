"""A market's price chart: its probabilities over a period, from the price history, ending at its prices now.

The history is read at the finest resolution that covers the period in at most `MAX_POINTS` buckets (plus
the bucket before, for where the chart starts), so drawing a market of 100,000 trades reads no more rows than
one of a hundred.
"""

from __future__ import annotations

from app.domain.price_history import (
    MAX_POINTS,
    ChartPeriod,
    PricePoint,
    bucket_of,
    chart_window,
    resolution_for,
    uniform,
)
from app.services.ports import UnitOfWork
from app.services.queries import show_market
from app.services.results import PriceChart


async def price_chart(uow: UnitOfWork, guild_id: int, number: int, period: ChartPeriod) -> PriceChart:
    market = await show_market(uow, guild_id, number)
    start, end = chart_window(period, market.created_at, uow.now, market.settled_at)
    resolution = resolution_for(end - start)
    before, within = await uow.price_history.read(market.id, resolution, bucket_of(start, resolution), end, MAX_POINTS)
    opening = before.probabilities if before is not None else uniform(len(market.outcomes))
    if len(within) == MAX_POINTS:  # more buckets than a chart reads: it starts at the oldest one read
        start, opening = within[0].at, within[0].probabilities
    for point in within:  # the first bucket may hold trades from before the chart starts
        if point.at <= start:
            opening = point.probabilities
    now = tuple(float(p) for p in market.probabilities)
    points = [
        PricePoint(start, opening),
        *(point for point in within if start < point.at < end),
        PricePoint(end, now),
    ]
    return PriceChart(market=market, period=period, resolution=resolution, points=points)
