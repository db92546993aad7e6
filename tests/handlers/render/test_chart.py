"""The chart PNG: what Discord accepts (type, size), one line per outcome in its colour, and the reply."""

from __future__ import annotations

import io
import math
import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from PIL import Image

from app.domain.price_history import MAX_POINTS, ChartPeriod, PricePoint
from app.services.results import MarketView, PriceChart
from handlers.render.chart import CONTENT_TYPE, FILENAME, HEIGHT, WIDTH, ChartData, chart_reply, render_chart
from handlers.render.style import CHART_PAPER, OUTCOME_COLORS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SIZE_LIMIT = 100 * 1024  # well under the ~150 KB at which inline multipart responses break
START = datetime(2026, 12, 1, tzinfo=UTC)


def wandering(outcomes: int, points: int) -> list[tuple[float, ...]]:
    """Probabilities that move every point (the hardest to compress), summing to 1."""
    rows = []
    for i in range(points):
        weights = [1.5 + math.sin(i / (7 + k) + k) for k in range(outcomes)]
        total = sum(weights)
        rows.append(tuple(w / total for w in weights))
    return rows


def data(outcomes: int, points: int = MAX_POINTS + 2) -> ChartData:
    rows = wandering(outcomes, points)
    times = [START + timedelta(minutes=10 * i) for i in range(points)]
    labels = ["Yes", "No"] if outcomes == 2 else [f"Candidate number {k + 1}" for k in range(outcomes)]
    return ChartData(labels, times, rows, times[0], times[-1], [Decimal(str(round(p, 4))) for p in rows[-1]])


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_MAGIC
    length, kind = struct.unpack(">I4s", png[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def near(pixel: tuple[int, ...], color: int, tolerance: int = 6) -> bool:
    rgb = ((color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], rgb, strict=True))


@pytest.mark.parametrize("outcomes", [2, 10])
def test_the_chart_is_a_small_png_with_a_line_in_each_outcomes_colour(outcomes: int) -> None:
    png = render_chart(data(outcomes))

    assert png_size(png) == (WIDTH, HEIGHT)
    assert len(png) < SIZE_LIMIT
    image = Image.open(io.BytesIO(png))
    image.verify()  # a complete, valid PNG (CRCs and all)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    plot = image.crop((60, 80, WIDTH - 24, HEIGHT - 40))  # below the legend, inside the axes
    pixels = list(plot.get_flattened_data())
    for index in range(outcomes):
        count = sum(1 for p in pixels if near(p, OUTCOME_COLORS[index]))
        assert count > 50, f"outcome {index}'s colour covers only {count} pixels of the plot"
    assert near(image.getpixel((WIDTH // 2, HEIGHT - 5)), CHART_PAPER)  # the card's own background


def test_a_market_with_no_history_still_draws_its_flat_line() -> None:
    times = [START, START + timedelta(hours=1)]
    chart = ChartData(["Yes", "No"], times, [(0.5, 0.5), (0.5, 0.5)], START, times[-1], [Decimal("0.5")] * 2)
    png = render_chart(chart)
    assert png_size(png) == (WIDTH, HEIGHT)


def test_the_palette_tells_ten_outcomes_apart() -> None:
    assert len(OUTCOME_COLORS) == 10 == len(set(OUTCOME_COLORS))


def test_the_reply_attaches_the_chart_and_shows_it_in_its_embed() -> None:
    market = MarketView(
        id=1,
        guild_id=5,
        number=12,
        question="Will it snow?",
        description="",
        outcomes=["Yes", "No"],
        probabilities=[Decimal("0.6"), Decimal("0.4")],
        shares=[Decimal(0), Decimal(0)],
        liquidity=100,
        volume=250,
        trade_count=3,
        status="open",
        creator_id=7,
        channel_id=None,
        closes_at=START + timedelta(days=3),
        created_at=START,
    )
    points = [PricePoint(START, (0.5, 0.5)), PricePoint(START + timedelta(hours=2), (0.6, 0.4))]
    reply = chart_reply(PriceChart(market=market, period=ChartPeriod.ALL, resolution=60, points=points))

    assert reply["type"] == 4
    data = reply["data"]
    assert data["allowed_mentions"] == {"parse": []}
    assert "flags" not in data  # public: a chart is for everyone to see
    [embed] = data["embeds"]
    assert embed["image"] == {"url": "attachment://chart.png"}
    assert embed["title"] == "#12 · Will it snow?"
    assert data["attachments"] == [{"id": "0", "filename": FILENAME, "description": "Price chart of market #12"}]
    [file] = reply["files"]
    assert (file["filename"], file["content_type"]) == ("chart.png", CONTENT_TYPE) == ("chart.png", "image/png")
    assert png_size(file["content"]) == (WIDTH, HEIGHT)
