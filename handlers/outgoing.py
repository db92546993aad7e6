"""What Hunch sends Discord by itself, from the worker: live market messages, channel summaries and
announcements, and the end of deferred replies (`app.services.delivery.Board` on the REST API).

A market's message is edited as the bot when Hunch has a bot token, and through the creating interaction's
token while it is valid otherwise (or when the bot cannot reach the channel). Discord's answers become what the
worker understands: a message that is gone stops being edited; a rate limit, an outage or the limit on edits of
messages older than an hour makes it hold off. Each redraw uploads the market's chart; in a channel where Hunch
may not attach files (403, Missing Permissions) the same edit goes again without it, and that channel's
messages are redrawn without their chart for a while.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from app.discord.api import DiscordApi
from app.discord.responses import message_data
from app.discord.rest_errors import (
    MESSAGE_GONE,
    MISSING_ACCESS,
    MISSING_PERMISSIONS,
    OLD_MESSAGE_EDITS,
    UNKNOWN_CHANNEL,
    DiscordApiError,
    DiscordRateLimited,
    DiscordUnavailable,
)
from app.services.delivery import HoldOff, MessageGone
from app.services.record_results import SeasonStart
from app.services.results import MarketView, PriceChart, Settlement, Unresolved
from app.services.rows import Followup, MarketMessage
from handlers.render import format as fmt
from handlers.render.chart import attach_chart
from handlers.render.market import market_data
from handlers.render.records import season_start_data
from handlers.render.settlement import settlement_data
from handlers.render.unresolve import refund_reminder_data, unresolved_data
from models.discord.messages import MessageData, UploadFile

logger = logging.getLogger("hunch.discord")

OLD_MESSAGE_HOLD = 3600.0  # Discord limits edits of messages older than an hour; wait that long
UNREACHABLE_HOLD = 30.0  # Discord could not be reached (or kept failing) through all of a call's retries
CHART_REFUSED_HOLD = timedelta(hours=1)  # then try the chart again: the permission may have been granted
CHART_REFUSED_CHANNELS = 10_000  # channels remembered at most (the oldest are forgotten first)

Edit = Callable[[MessageData, Sequence[UploadFile]], Awaitable[None]]


def _translated(error: DiscordApiError) -> Exception:
    """Discord's refusal as the worker understands it."""
    if isinstance(error, DiscordRateLimited):
        return HoldOff(error.retry_after, "rate limited")
    if isinstance(error, DiscordUnavailable):
        return HoldOff(max(error.retry_in, 1.0), "Discord's API is failing")
    if error.status is None or error.status >= 500:
        return HoldOff(UNREACHABLE_HOLD, "Discord's API could not be reached")
    if error.code == OLD_MESSAGE_EDITS:
        return HoldOff(OLD_MESSAGE_HOLD, "edits of messages older than an hour are limited")
    if error.code in MESSAGE_GONE or error.status == 404:
        return MessageGone(error.message)
    return error


def _refuses_files(error: DiscordApiError) -> bool:
    return error.status == 403 and error.code == MISSING_PERMISSIONS


def _without_chart(data: MessageData) -> MessageData:
    """The same message without its chart; `attachments: []` removes a chart drawn before, which would only
    show stale prices."""
    bare = data.copy()
    if "embeds" in data:
        bare["embeds"] = [embed.copy() for embed in data["embeds"]]
        for embed in bare["embeds"]:
            embed.pop("image", None)
    bare["attachments"] = []
    return bare


class ChartsRefused:
    """Channels where Discord refused the chart's upload lately (per process, bounded)."""

    def __init__(self, clock: Callable[[], datetime], limit: int = CHART_REFUSED_CHANNELS) -> None:
        self._clock = clock
        self._limit = limit
        self._until: dict[int, datetime] = {}  # channel id -> when to try the chart again, oldest first

    def __contains__(self, channel_id: int) -> bool:
        until = self._until.get(channel_id)
        if until is not None and self._clock() >= until:
            del self._until[channel_id]
            return False
        return until is not None

    def add(self, channel_id: int) -> None:
        self._until.pop(channel_id, None)
        while len(self._until) >= self._limit:
            del self._until[next(iter(self._until))]
        self._until[channel_id] = self._clock() + CHART_REFUSED_HOLD


class DiscordBoard:
    def __init__(self, api: DiscordApi, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._api = api
        self._charts_refused = ChartsRefused(clock)

    async def message_id(self, followup: Followup) -> int:
        try:
            found = await self._api.original_message(str(followup.application_id), followup.token)
        except DiscordApiError as error:
            raise _translated(error) from None
        return int(found["id"])

    async def redraw(self, message: MarketMessage, chart: PriceChart, followup: Followup | None) -> None:
        data = market_data(chart.market)
        files: list[UploadFile] = []
        if message.channel_id in self._charts_refused:
            data = _without_chart(data)
        else:
            files = await asyncio.to_thread(attach_chart, data, chart)  # CPU work, off the event loop
        if self._api.can_use_bot and message.message_id is not None:
            channel, message_id = str(message.channel_id), str(message.message_id)

            async def as_bot(body: MessageData, uploads: Sequence[UploadFile]) -> None:
                await self._api.edit_message(channel, message_id, body, uploads)

            try:
                await self._edit_charted(message.channel_id, as_bot, data, files)
                return
            except DiscordApiError as error:
                # The bot is not in that server, or cannot see the channel: the interaction's token still can.
                no_access = error.status == 403 or error.code in MISSING_ACCESS or error.code == UNKNOWN_CHANNEL
                if not (no_access and followup is not None):
                    raise _translated(error) from None
        if followup is None:
            raise MessageGone("no bot access and the interaction's token has expired")
        application_id, token = str(followup.application_id), followup.token

        async def as_interaction(body: MessageData, uploads: Sequence[UploadFile]) -> None:
            await self._api.edit_original(application_id, token, body, uploads)

        try:
            await self._edit_charted(message.channel_id, as_interaction, data, files)
        except DiscordApiError as error:
            raise _translated(error) from None

    async def _edit_charted(self, channel_id: int, edit: Edit, data: MessageData, files: list[UploadFile]) -> None:
        """Edit with the chart; when Discord refuses the upload, the same edit without it (a market message
        that stopped following its prices for want of Attach Files would be worse than one without a chart)."""
        try:
            await edit(data, files)
        except DiscordApiError as error:
            if not (files and _refuses_files(error)):
                raise
            await edit(_without_chart(data), ())
            self._charts_refused.add(channel_id)
            fields = {"channel_id": channel_id, "hold_seconds": CHART_REFUSED_HOLD.total_seconds()}
            logger.warning(
                "Hunch may not attach files in a market's channel: its message is redrawn without its chart "
                "(grant Attach Files and Embed Links)",
                extra={"fields": fields},
            )

    async def post_settlement(self, channel_id: int, settlement: Settlement, nonce: str) -> bool:
        return await self._post(channel_id, settlement_data(settlement), nonce)

    async def post_closing_soon(self, channel_id: int, market: MarketView, nonce: str) -> bool:
        content = f"⏰ Market #{market.number} closes {fmt.timestamp(market.closes_at)}: last chance to trade."
        return await self._post(channel_id, market_data(market, content), nonce)

    async def post_unresolved(self, channel_id: int, unresolved: Unresolved, nonce: str) -> bool:
        return await self._post(channel_id, unresolved_data(unresolved), nonce)

    async def post_refund_reminder(
        self, channel_id: int, market: MarketView, creator_id: int, refund_at: datetime, nonce: str
    ) -> bool:
        return await self._post(channel_id, refund_reminder_data(market, creator_id, refund_at), nonce)

    async def finish(self, followup: Followup, outcome: Settlement | Unresolved | str) -> None:
        data: MessageData
        if isinstance(outcome, Settlement):
            data = settlement_data(outcome)
        elif isinstance(outcome, Unresolved):
            data = unresolved_data(outcome)
        else:
            data = {"content": outcome}
        await self._edit_original(followup, data)

    async def finish_season(self, followup: Followup, outcome: SeasonStart | str) -> None:
        data = season_start_data(outcome) if isinstance(outcome, SeasonStart) else message_data(outcome)
        await self._edit_original(followup, data)

    async def _edit_original(
        self, followup: Followup, data: MessageData, files: list[UploadFile] | None = None
    ) -> None:
        try:
            await self._api.edit_original(str(followup.application_id), followup.token, data, files or ())
        except DiscordApiError as error:
            raise _translated(error) from None

    async def _post(self, channel_id: int, data: MessageData, nonce: str) -> bool:
        if not self._api.can_use_bot:
            return False
        try:
            await self._api.create_message(str(channel_id), data, nonce=nonce)
        except DiscordApiError as error:
            if error.status in (403, 404) or error.code in MISSING_ACCESS:
                logger.warning(
                    "cannot post in a market's channel",
                    extra={"fields": {"channel_id": channel_id, "code": error.code}},
                )
                return False
            raise _translated(error) from None
        return True
