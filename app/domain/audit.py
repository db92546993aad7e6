"""What happened, in the words of the audit trail (one row per state change, kept forever)."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    MARKET_CREATE = "market.create"
    MARKET_CLOSE = "market.close"
    MARKET_RESOLVE = "market.resolve"
    MARKET_CANCEL = "market.cancel"
    MARKET_UNRESOLVE = "market.unresolve"
    MARKET_SUBSIDIZE = "market.subsidize"
    TRADE_BUY = "trade.buy"
    TRADE_SELL = "trade.sell"
    DAILY = "wallet.daily"
    GIFT = "wallet.give"
    GRANT = "admin.grant"
    CONFIG = "guild.config"
    SEASON_START = "guild.season_start"
