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
