"""A market's price chart as a PNG: one stepped line per outcome, in the outcome's colour, on a card.

Pillow draws it (see the README's Benchmarks for why not matplotlib): at twice the size, then reduced by a box
filter, which anti-aliases the lines and the text. The card has its own neutral dark background and a border,
so the chart reads the same on Discord's dark and light themes. Pillow is imported here, on the first chart,
never on the PING or trading paths.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, cast

from app.discord import responses
from app.domain.market import MarketStatus
from app.domain.price_history import ChartPeriod
from app.services.results import PriceChart
from handlers.render import format as fmt
from handlers.render.market import market_title
from handlers.render.style import (
    BLURPLE,
    CHART_INK,
    CHART_MUTED,
    CHART_PAPER,
    CHART_RULE,
    STATUS_COLORS,
    outcome_color,
)
from models.discord.messages import Embed, InteractionResponse, MessageData, UploadFile

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

FILENAME = "chart.png"
CONTENT_TYPE = "image/png"
WIDTH, HEIGHT = 800, 400
SCALE = 2  # drawn at twice the size, then reduced: anti-aliasing
LEGEND_COLUMNS = 5
LABEL_MAX = 18
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_BOTTOM = 56, 20, 34
LEGEND_ROW = 22
FONT_SIZE = 13
LINE_WIDTH = 2.5
GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
PERIOD_TITLES = {
    ChartPeriod.DAY: "The last day",
    ChartPeriod.WEEK: "The last week",
    ChartPeriod.MONTH: "The last 30 days",
    ChartPeriod.ALL: "All time",
}


_DRAWING = threading.Lock()


@dataclass(frozen=True, slots=True)
class ChartData:
    """What a chart shows: the outcomes, and their probabilities from `start` to `end` (each point holds
    from its time until the next point's: prices only move when someone trades)."""

    labels: Sequence[str]
    times: Sequence[datetime]
    probabilities: Sequence[Sequence[float]]  # per point, one per outcome
    start: datetime
    end: datetime
    current: Sequence[Decimal]  # the probabilities now, as the legend states them


@cache
def _font(size: int) -> FreeTypeFont:
    from PIL import ImageFont

    font = ImageFont.load_default(size=size)
    assert isinstance(font, ImageFont.FreeTypeFont), "Pillow was built without FreeType"
    return font


def _rgb(color: int) -> tuple[int, int, int]:
    return (color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF


def _time_label(at: datetime, span_seconds: float) -> str:
    at = at.astimezone(UTC)
    if span_seconds <= 2 * 86400:
        return at.strftime("%H:%M")
    return f"{at:%b} {at.day}"


def _fitted(label: str, percent: str, font: FreeTypeFont, width: float) -> str:
    """`label percent`, the label cut short (with an ellipsis) until it fits in `width`."""
    label = fmt.truncate(label, LABEL_MAX)
    text = f"{label} {percent}"
    while font.getlength(text) > width and len(label) > 1:
        label = fmt.truncate(label, len(label) - 1)
        text = f"{label} {percent}"
    return text


def render_chart(chart: ChartData) -> bytes:
    """The chart as PNG bytes (800 x 400, RGB). Charts are drawn in threads (off the event loop), one at a time:
    they share one FreeType face, which is not safe to use from two threads at once."""
    with _DRAWING:
        return _render(chart)


def _render(chart: ChartData) -> bytes:
    from PIL import Image, ImageDraw

    s = SCALE
    image = Image.new("RGB", (WIDTH * s, HEIGHT * s), _rgb(CHART_PAPER))
    draw = ImageDraw.Draw(image)
    font = _font(FONT_SIZE * s)
    draw.rectangle((0, 0, WIDTH * s - 1, HEIGHT * s - 1), outline=_rgb(CHART_RULE), width=s)

    count = len(chart.labels)
    rows = math.ceil(count / LEGEND_COLUMNS)
    top = 14 + rows * LEGEND_ROW + 10
    left, right, bottom = MARGIN_LEFT * s, (WIDTH - MARGIN_RIGHT) * s, (HEIGHT - MARGIN_BOTTOM) * s
    top *= s

    # The legend: a swatch, the outcome and its latest probability.
    column_width = (WIDTH - 2 * 16) / LEGEND_COLUMNS
    for index, label in enumerate(chart.labels):
        key_x = (16 + (index % LEGEND_COLUMNS) * column_width) * s
        key_y = (14 + (index // LEGEND_COLUMNS) * LEGEND_ROW) * s
        color = _rgb(outcome_color(index))
        draw.rounded_rectangle((key_x, key_y + 3 * s, key_x + 12 * s, key_y + 15 * s), radius=3 * s, fill=color)
        text = _fitted(label, fmt.percent(chart.current[index]), font, (column_width - 26) * s)
        draw.text((key_x + 18 * s, key_y), text, font=font, fill=_rgb(CHART_INK))

    # The grid: 0, 25, 50, 75 and 100%.
    for level in GRID:
        rule_y = bottom - level * (bottom - top)
        draw.line((left, rule_y, right, rule_y), fill=_rgb(CHART_RULE), width=s)
        draw.text((left - 8 * s, rule_y), f"{level * 100:.0f}%", font=font, fill=_rgb(CHART_MUTED), anchor="rm")

    start, end = chart.start.timestamp(), chart.end.timestamp()
    span = max(end - start, 1.0)
    for fraction, anchor in ((0.0, "lt"), (0.5, "mt"), (1.0, "rt")):
        at = datetime.fromtimestamp(start + fraction * span, UTC)
        text = _time_label(at, span) + (" UTC" if fraction == 1.0 else "")
        draw.text(
            (left + fraction * (right - left), bottom + 10 * s), text, font=font, fill=_rgb(CHART_MUTED), anchor=anchor
        )

    # The lines, as steps, the first outcome drawn last so that it is on top.
    xs = [left + (min(max(t.timestamp(), start), end) - start) / span * (right - left) for t in chart.times]
    height = bottom - top
    for index in reversed(range(count)):
        path: list[tuple[float, float]] = []
        for x, prices in zip(xs, chart.probabilities, strict=True):
            y = bottom - prices[index] * height
            if path:
                path.append((x, path[-1][1]))
            path.append((x, y))
        if path:
            path.append((right, path[-1][1]))
            draw.line(path, fill=_rgb(outcome_color(index)), width=round(LINE_WIDTH * s))

    out = io.BytesIO()
    image.reduce(s).save(out, format="PNG", compress_level=3)  # zlib level 3: most of the size of 6, half the time
    return out.getvalue()


def chart_data(chart: PriceChart) -> ChartData:
    market = chart.market
    return ChartData(
        labels=market.outcomes,
        times=[point.at for point in chart.points],
        probabilities=[point.probabilities for point in chart.points],
        start=chart.points[0].at,
        end=chart.points[-1].at,
        current=market.probabilities,
    )


def attach_chart(data: MessageData, chart: PriceChart) -> list[UploadFile]:
    """Draw the chart into the message's first embed, as its attachment `chart.png` (the only one the message
    keeps: an edit that lists it replaces the chart drawn before); the file to send with it."""
    png = render_chart(chart_data(chart))
    embeds = data.get("embeds") or []
    if embeds:
        embeds[0]["image"] = {"url": f"attachment://{FILENAME}"}
    description = f"Price chart of market #{chart.market.number}"
    data["attachments"] = [{"id": "0", "filename": FILENAME, "description": description}]
    return [{"filename": FILENAME, "content_type": CONTENT_TYPE, "content": png}]


def charted(response: InteractionResponse, chart: PriceChart) -> InteractionResponse:
    """A message response with the chart attached (sent as multipart/form-data)."""
    response["files"] = attach_chart(cast(MessageData, response["data"]), chart)
    return response


def chart_reply(chart: PriceChart) -> InteractionResponse:
    """A public reply: the market's title and its chart."""
    market = chart.market
    embed: Embed = {
        "title": market_title(market),
        "description": f"{PERIOD_TITLES[chart.period]} · {market.trade_count:,} trades",
        "color": STATUS_COLORS.get(MarketStatus(market.status), BLURPLE),
        "footer": {"text": f"Market #{market.number} · probabilities after each trade · times in UTC"},
    }
    return charted(responses.message(embeds=[embed]), chart)
