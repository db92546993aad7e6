"""The one declarative source of Hunch's slash commands.

Everything here is plain data: `COMMANDS` describes each command once and `command_definitions()` turns it
into the JSON array Discord's bulk overwrite (`PUT /applications/{id}/commands`) expects. Command and option
names are a public contract: members type them and the interaction handlers route on them, so renaming one is
a breaking change.

Every command is guild-only (`contexts: [0]`, `integration_types: [0]`): markets, balances and the
leaderboard all belong to a server.
"""

from __future__ import annotations

from typing import Any

from app.domain import limits
from app.domain.market import MarketStatus
from app.domain.price_history import ChartPeriod
from app.domain.records import RankBy
from handlers.command_schema import (
    Choice,
    Command,
    boolean,
    group,
    integer,
    market_option,
    number,
    outcome_option,
    role,
    string,
    sub,
    user,
)
from models.discord.enums import Permissions

LIST_ALL = "all"
LIST_FILTERS = (*(status.value for status in MarketStatus), LIST_ALL)
"""What `/market list status:` offers: each market status, or all of them."""


CHART_PERIODS = (
    Choice("Last day", ChartPeriod.DAY.value),
    Choice("Last week", ChartPeriod.WEEK.value),
    Choice("Last 30 days", ChartPeriod.MONTH.value),
    Choice("All time", ChartPeriod.ALL.value),
)
"""What `/market chart period:` offers (default all time)."""


# --- the commands --------------------------------------------------------------------------------------------------

MARKET = Command(
    "market",
    "Create, browse and manage prediction markets",
    (
        sub(
            "create",
            "Create a new prediction market",
            string("question", "The question the market answers", required=True, max_length=limits.QUESTION_MAX),
            string(
                "outcomes",
                f"Comma-separated, {limits.OUTCOMES.low}\u2013{limits.OUTCOMES.high} (default Yes, No)",
                max_length=limits.OUTCOMES_TEXT_MAX,
            ),  # an en dash, as in the contract
            string("closes_in", "When trading closes, e.g. 90m, 2h, 3d, 1w"),
            integer(
                "liquidity",
                f"Starting market-maker liquidity, {limits.LIQUIDITY.low:,} to {limits.LIQUIDITY.high:,}",
                min_value=limits.LIQUIDITY.low,
                max_value=limits.LIQUIDITY.high,
            ),
            string("description", "Details and how the market will be resolved", max_length=limits.DESCRIPTION_MAX),
        ),
        sub("show", "Show a market with its prices", market_option()),
        sub(
            "chart",
            "Chart a market's probabilities over time",
            market_option(),
            string("period", "How far back the chart goes (default all time)", choices=CHART_PERIODS),
        ),
        sub(
            "list",
            "List this server's markets",
            string(
                "status",
                "Which markets to list (default open)",
                choices=tuple(Choice(status.capitalize(), status) for status in LIST_FILTERS),
            ),
        ),
        sub("close", "Stop trading on a market before it resolves", market_option()),
        sub(
            "resolve", "Resolve a market to its winning outcome", market_option(), outcome_option("The winning outcome")
        ),
        sub(
            "resolve-weighted",
            "Resolve a market by splitting the payout across outcomes",
            market_option(),
            string("weights", 'Outcome weights, e.g. "Red 70, Blue 30"', required=True),
        ),
        sub(
            "cancel",
            "Cancel a market and refund every trade",
            market_option(),
            string("reason", "Why the market is cancelled", max_length=limits.REASON_MAX),
        ),
        sub(
            "unresolve",
            "Undo a market's resolution or cancellation and reopen it",
            market_option(),
            string("reason", "Why the settlement is undone", max_length=limits.REASON_MAX),
        ),
        sub(
            "subsidize",
            "Add liquidity to an open market from your balance (prices stay the same)",
            market_option(),
            integer("amount", "How much to add", required=True, min_value=1, max_value=limits.MAX_POINTS),
        ),
    ),
)

BET = Command(
    "bet",
    "Buy shares in a market outcome",
    (
        market_option(),
        outcome_option(),
        integer("amount", "How much to spend", required=True, min_value=1),
    ),
)

SELL = Command(
    "sell",
    "Sell shares you hold in a market outcome",
    (
        market_option(),
        outcome_option(),
        number("shares", "How many shares to sell (default all)", min_value=0.000001),
    ),
)

BALANCE = Command("balance", "Show a balance", (user("user", "Whose balance (default yours)"),))

PORTFOLIO = Command(
    "portfolio", "Show open positions and their value", (user("user", "Whose portfolio (default yours)"),)
)

RANKINGS = tuple(Choice(by.capitalize(), by) for by in RankBy)
LEADERBOARD = Command(
    "leaderboard",
    "Show this server's top traders",
    (
        string("by", "Rank by balance (default), profit or accuracy", choices=RANKINGS),
        string("season", "A finished season's final standings", autocomplete=True, max_length=limits.SEASON_NAME_MAX),
    ),
)

STATS = Command("stats", "Show a forecasting record", (user("user", "Whose record (default yours)"),))

DAILY = Command("daily", "Claim your daily bonus")

GIVE = Command(
    "give",
    "Give some of your balance to another member",
    (
        user("user", "Who receives it", required=True),
        integer("amount", "How much to give", required=True, min_value=1),
    ),
)

SEASON_START = sub(
    "start",
    "End this season, keep its standings and reset every balance",
    string("name", "The new season's name (default Season N)", max_length=limits.SEASON_NAME_MAX),
)
ADMIN = Command(
    "admin",
    "Server settings and grants for Hunch",
    (
        sub(
            "config",
            "Change Hunch's settings here, or show them when given no options",
            integer("starting_balance", "Balance each new member starts with", min_value=limits.STARTING_BALANCE.low),
            integer("daily_bonus", "Amount /daily gives", min_value=limits.DAILY_BONUS.low),
            integer(
                "default_liquidity", "Liquidity for new markets when none is given", min_value=limits.LIQUIDITY.low
            ),
            string("default_duration", "How long new markets stay open by default, e.g. 3d"),
            integer("max_stake", "Most a member can spend on one bet", min_value=limits.MAX_STAKE.low),
            string("currency", "Name of the play-money currency", max_length=limits.CURRENCY_MAX),
            role("creator_role", "Role allowed to create markets"),
            role("resolver_role", "Role allowed to resolve markets"),
            boolean("clear_creator_role", "Remove the creator role requirement"),
            boolean("clear_resolver_role", "Remove the resolver role requirement"),
            boolean("mention_winners", "Mention the winners in a market's resolution summary"),
            boolean("announce_closing", "Announce in its channel when a market closes within the hour"),
            string("unresolve_window", "How long a creator may unresolve their market, e.g. 10m, or off"),
            string("auto_refund_after", "Refund a closed market nobody resolves after this long, e.g. 14d, or off"),
        ),
        sub(
            "grant",
            "Add currency to a member's balance",
            user("user", "Who receives the grant", required=True),
            integer("amount", "How much to grant", required=True, min_value=1),
            string("reason", "Why you are granting it", max_length=limits.REASON_MAX),
        ),
        group("season", "Seasons of play", SEASON_START),
    ),
    default_member_permissions=int(Permissions.MANAGE_GUILD),
)

COMMANDS: tuple[Command, ...] = (MARKET, BET, SELL, BALANCE, PORTFOLIO, LEADERBOARD, STATS, DAILY, GIVE, ADMIN)


def command_definitions() -> list[dict[str, Any]]:
    """The JSON array for Discord's bulk overwrite of application commands (a fresh copy on every call)."""
    return [command.to_json() for command in COMMANDS]
