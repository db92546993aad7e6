"""The database tables, one module per concept. Points are whole numbers (BIGINT); Discord snowflakes
(servers, members, channels, interactions) are BIGINT."""

from models.tables.columns import metadata
from models.tables.events import (
    Event,
    EventDead,
    EventPending,
    EventStream,
    event_dead,
    event_pending,
    event_streams,
    events,
)
from models.tables.ledger import Account, Guild, Transfer, accounts, guilds, transfers
from models.tables.markets import Market, Position, Trade, markets, positions, trades
from models.tables.messages import Followup, MarketMessage, followups, market_messages
from models.tables.price_history import PricePoint, price_points
from models.tables.records import (
    MarketResult,
    MemberRecord,
    Season,
    SeasonStanding,
    market_results,
    member_records,
    season_standings,
    seasons,
)
from models.tables.requests import (
    AuditEvent,
    InteractionRecord,
    audit_events,
    interaction_records,
    rate_limit_hits,
    rate_limit_keys,
)

__all__ = [
    "Account",
    "AuditEvent",
    "Event",
    "EventDead",
    "EventPending",
    "EventStream",
    "Followup",
    "Guild",
    "InteractionRecord",
    "Market",
    "MarketMessage",
    "MarketResult",
    "MemberRecord",
    "Position",
    "PricePoint",
    "Season",
    "SeasonStanding",
    "Trade",
    "Transfer",
    "accounts",
    "audit_events",
    "event_dead",
    "event_pending",
    "event_streams",
    "events",
    "followups",
    "guilds",
    "interaction_records",
    "market_messages",
    "market_results",
    "markets",
    "member_records",
    "metadata",
    "positions",
    "price_points",
    "rate_limit_hits",
    "rate_limit_keys",
    "season_standings",
    "seasons",
    "trades",
    "transfers",
]
