"""The use cases as the interaction handlers (and the scheduler and the CLI) call them: one method each.

This is the narrow interface the outside sees. Each state-changing method runs its use case once per
interaction (`idempotency.execute`) in a transaction of its own; trades go through the trading desk, which
batches a market's concurrent trades; reads run in a read-only unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from pydantic import BaseModel

from app import telemetry
from app.domain.actor import Actor
from app.domain.guild import ConfigChange
from app.domain.market import MarketStatus
from app.domain.price_history import ChartPeriod
from app.domain.records import RankBy
from app.services import (
    admin,
    charts,
    markets,
    queries,
    records,
    seasons,
    settlement,
    subsidy,
    unresolve,
    verify,
    wallet,
)
from app.services.idempotency import execute
from app.services.periodic import PeriodicWork
from app.services.ports import Throttle, ThrottledAction, Transactions, Work
from app.services.record_results import RecordBoard, SeasonBoard, SeasonStart, SeasonStartDeferred, StatsView
from app.services.results import (
    BalanceView,
    DailyClaim,
    GiftReceipt,
    GuildConfig,
    Leaderboard,
    MarketView,
    Portfolio,
    PriceChart,
    Settlement,
    SettlementDeferred,
    SubsidyReceipt,
    TradeReceipt,
    Unresolved,
)
from app.services.rows import Followup
from app.services.settlement import SettlementKind
from app.services.trading_desk import TradingDesk

logger = logging.getLogger("hunch.use_cases")
R = TypeVar("R", bound=BaseModel)
T = TypeVar("T")

changes_applied: ContextVar[bool] = ContextVar("changes_applied", default=False)
"""Set once a state-changing use case of the current request has committed: after that, an error of the
request cannot claim that nothing was changed."""


class UseCases(PeriodicWork):
    def __init__(
        self, transactions: Transactions, desk: TradingDesk, throttle: Throttle, *, defer_from: int | None = None
    ) -> None:
        self._transactions = transactions
        self._desk = desk
        self._throttle = throttle
        self._defer_from = defer_from  # from this many holders a settlement is left to the worker

    async def _execute(self, actor: Actor, action: str, result_type: type[R], work: Work[R]) -> R:
        with telemetry.span(f"use_case {action}"):
            result = await execute(self._transactions, actor, action, result_type, work)
        changes_applied.set(True)
        return result

    async def _read(self, name: str, work: Work[T]) -> T:
        with telemetry.span(f"use_case {name}"):
            return await self._transactions.run(work)

    # -- markets ---------------------------------------------------------------------------------------------

    async def create_market(self, actor: Actor, cmd: markets.CreateMarket) -> MarketView:
        await self._throttle(actor, ThrottledAction.CREATE_MARKET)
        return await self._execute(
            actor, "market.create", MarketView, lambda uow: markets.create_market(uow, actor, cmd)
        )

    async def close_market(self, actor: Actor, number: int) -> MarketView:
        return await self._execute(
            actor, "market.close", MarketView, lambda uow: markets.close_market(uow, actor, number)
        )

    async def resolve_market(
        self, actor: Actor, number: int, outcome: str, followup: Followup | None = None
    ) -> Settlement | SettlementDeferred:
        return await self._settle(actor, number, SettlementKind.RESOLVE, outcome, followup)

    async def resolve_market_weighted(
        self, actor: Actor, number: int, weights: str, followup: Followup | None = None
    ) -> Settlement | SettlementDeferred:
        return await self._settle(actor, number, SettlementKind.RESOLVE_WEIGHTED, weights, followup)

    async def cancel_market(
        self, actor: Actor, number: int, reason: str = "", followup: Followup | None = None
    ) -> Settlement | SettlementDeferred:
        return await self._settle(actor, number, SettlementKind.CANCEL, reason, followup)

    async def _settle(
        self, actor: Actor, number: int, kind: SettlementKind, argument: str, followup: Followup | None
    ) -> Settlement | SettlementDeferred:
        """Settle now; or, for a market with as many holders as may not fit the deadline and a reply to finish later,
        acknowledge it and leave it to the worker."""
        deferred = await self._defer_settlement(actor, number, kind, argument, followup)
        return deferred if deferred is not None else await self.settle(actor, number, kind, argument)

    async def _defer_settlement(
        self, actor: Actor, number: int, kind: SettlementKind, argument: str, followup: Followup | None
    ) -> SettlementDeferred | None:
        """Acknowledge a settlement (or an unresolve) of a market with many holders and leave it to the worker;
        None when it is small enough to do now, or has no reply to finish later."""
        if followup is None or not await self._too_large(
            "settlement.holder_count", lambda uow: settlement.holder_count(uow, actor.guild_id, number)
        ):
            return None
        return await self._execute(
            actor,
            f"market.{kind.value}.deferred",
            SettlementDeferred,
            lambda uow: settlement.request_settlement(uow, actor, number, kind, argument, followup),
        )

    async def _too_large(self, name: str, size: Work[int]) -> bool:
        """Whether work of this size (holders, members: counted only when deferring is on) may not fit Discord's
        deadline."""
        return self._defer_from is not None and await self._read(name, size) >= self._defer_from

    async def settle(self, actor: Actor, number: int, kind: SettlementKind, argument: str) -> Settlement:
        """The settlement itself (the worker calls this for a deferred one, as the member who asked)."""
        return await self._execute(
            actor, f"market.{kind.value}", Settlement, settlement.settle(kind, actor, number, argument)
        )

    async def unresolve_market(
        self, actor: Actor, number: int, reason: str = "", followup: Followup | None = None
    ) -> Unresolved | SettlementDeferred:
        """Unresolve now; or, as a settlement of as many holders would be, acknowledge it and leave it to the worker."""
        deferred = await self._defer_settlement(actor, number, SettlementKind.UNRESOLVE, reason, followup)
        return deferred if deferred is not None else await self.unresolve(actor, number, reason)

    async def unresolve(
        self, actor: Actor, number: int, reason: str, requested_at: datetime | None = None
    ) -> Unresolved:
        """The reversal itself (the worker calls this for a deferred one, as the member who asked, when they asked)."""
        return await self._execute(
            actor,
            "market.unresolve",
            Unresolved,
            lambda uow: unresolve.unresolve_market(uow, actor, number, reason, requested_at),
        )

    async def subsidize_market(self, actor: Actor, number: int, amount: int) -> SubsidyReceipt:
        return await self._execute(
            actor, "market.subsidize", SubsidyReceipt, lambda uow: subsidy.subsidize_market(uow, actor, number, amount)
        )

    async def show_market(self, guild_id: int, number: int) -> MarketView:
        return await self._read("queries.show_market", lambda uow: queries.show_market(uow, guild_id, number))

    async def price_chart(self, guild_id: int, number: int, period: ChartPeriod) -> PriceChart:
        return await self._read("charts.price_chart", lambda uow: charts.price_chart(uow, guild_id, number, period))

    async def list_markets(self, guild_id: int, status: MarketStatus | None) -> list[MarketView]:
        return await self._read("queries.list_markets", lambda uow: queries.list_markets(uow, guild_id, status))

    async def search_markets(
        self, guild_id: int, text: str, statuses: Sequence[MarketStatus], limit: int = 25
    ) -> list[tuple[int, str]]:
        return await self._read(
            "queries.search_markets", lambda uow: queries.search_markets(uow, guild_id, text, limit, statuses)
        )

    # -- trading ---------------------------------------------------------------------------------------------

    async def buy(self, actor: Actor, number: int, outcome: int | str, amount: int | None) -> TradeReceipt:
        await self._throttle(actor, ThrottledAction.TRADE)
        with telemetry.span("use_case trade.buy"):
            receipt = await self._desk.buy(actor, number, outcome, amount)
        changes_applied.set(True)
        return receipt

    async def sell(self, actor: Actor, number: int, outcome: int | str, shares: Decimal | None) -> TradeReceipt:
        await self._throttle(actor, ThrottledAction.TRADE)
        with telemetry.span("use_case trade.sell"):
            receipt = await self._desk.sell(actor, number, outcome, shares)
        changes_applied.set(True)
        return receipt

    # -- wallets ---------------------------------------------------------------------------------------------

    async def balance(self, guild_id: int, user_id: int) -> BalanceView:
        return await self._read("queries.balance", lambda uow: queries.balance(uow, guild_id, user_id))

    async def portfolio(self, guild_id: int, user_id: int) -> Portfolio:
        return await self._read("queries.portfolio", lambda uow: queries.portfolio(uow, guild_id, user_id))

    async def leaderboard(self, guild_id: int, limit: int) -> Leaderboard:
        return await self._read("queries.leaderboard", lambda uow: queries.leaderboard(uow, guild_id, limit))

    async def stats(self, guild_id: int, user_id: int) -> StatsView:
        return await self._read("records.stats", lambda uow: records.stats(uow, guild_id, user_id))

    async def ranked_by(self, guild_id: int, by: RankBy, limit: int) -> RecordBoard:
        return await self._read("records.ranked_by", lambda uow: records.ranked_by(uow, guild_id, by, limit))

    async def season_standings(self, guild_id: int, name: str, limit: int) -> SeasonBoard:
        return await self._read(
            "seasons.season_standings", lambda uow: seasons.season_standings(uow, guild_id, name, limit)
        )

    async def search_seasons(self, guild_id: int, typed: str) -> list[str]:
        return await self._read("seasons.search_seasons", lambda uow: seasons.search_seasons(uow, guild_id, typed))

    async def claim_daily(self, actor: Actor) -> DailyClaim:
        return await self._execute(actor, "wallet.daily", DailyClaim, lambda uow: wallet.claim_daily(uow, actor))

    async def give(self, actor: Actor, to_user_id: int, amount: int) -> GiftReceipt:
        return await self._execute(
            actor, "wallet.give", GiftReceipt, lambda uow: wallet.give(uow, actor, to_user_id, amount)
        )

    # -- server administration -------------------------------------------------------------------------------

    async def grant(self, actor: Actor, to_user_id: int, amount: int, reason: str) -> GiftReceipt:
        return await self._execute(
            actor, "admin.grant", GiftReceipt, lambda uow: wallet.grant(uow, actor, to_user_id, amount, reason)
        )

    async def config(self, actor: Actor) -> GuildConfig:
        return await self._read("admin.get_config", lambda uow: admin.get_config(uow, actor))

    async def update_config(self, actor: Actor, change: ConfigChange) -> GuildConfig:
        return await self._execute(
            actor, "admin.config", GuildConfig, lambda uow: admin.update_config(uow, actor, change)
        )

    async def start_season(
        self, actor: Actor, name: str | None, shown: int, followup: Followup | None = None
    ) -> SeasonStart | SeasonStartDeferred:
        """Start it now; or, on a server with as many members as a settlement that is deferred has holders and
        with a reply to finish later, acknowledge it and leave it to the worker."""
        if followup is not None and await self._too_large(
            "seasons.member_count", lambda uow: seasons.member_count(uow, actor.guild_id)
        ):
            return await self._execute(
                actor,
                "admin.season_start.deferred",
                SeasonStartDeferred,
                lambda uow: seasons.request_season_start(uow, actor, name, followup),
            )
        return await self._execute(
            actor, "admin.season_start", SeasonStart, lambda uow: seasons.start_season(uow, actor, name, shown)
        )

    async def verify_ledger(self) -> list[str]:
        return await self._read("verify.verify_ledger", verify.verify_ledger)
