"""Colours of Hunch's embeds (Discord's palette)."""

from __future__ import annotations

from app.domain.market import MarketStatus

BLURPLE = 0x5865F2
YELLOW = 0xFEE75C
GREEN = 0x57F287
GREY = 0x99AAB5

STATUS_COLORS = {
    MarketStatus.OPEN: BLURPLE,
    MarketStatus.CLOSED: YELLOW,
    MarketStatus.RESOLVED: GREEN,
    MarketStatus.CANCELLED: GREY,
}
EMBED_TOTAL_LIMIT = 6000
DESCRIPTION_LIMIT = 4096
TITLE_LIMIT = 256

# Outcomes' colours, in outcome order (a market has at most 10): bright enough on the chart's dark card, and
# the first two (Yes, No) are the blue and orange every kind of colour vision tells apart.
OUTCOME_COLORS = (
    0x4E9BFF,  # blue
    0xFF9F43,  # orange
    0x3DDC84,  # green
    0xFF5C7A,  # red
    0xB57BFF,  # purple
    0xFFD43B,  # yellow
    0x22D3EE,  # cyan
    0xD4A373,  # tan
    0xF472B6,  # pink
    0xC9CED6,  # light grey
)
CHART_PAPER = 0x2B2D31  # the chart's card: its own background, so it reads on both Discord themes
CHART_RULE = 0x4E5058  # the border and the grid
CHART_INK = 0xF2F3F5  # the legend
CHART_MUTED = 0xB5BAC1  # the axes' labels


def outcome_color(index: int) -> int:
    return OUTCOME_COLORS[index % len(OUTCOME_COLORS)]
