"""The calls Hunch makes to Discord's REST API, each on its route (see `rest.Route`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.discord.rest import DiscordRest, Route
from app.discord.rest_errors import DiscordApiError
from models.discord.messages import MessageData, UploadFile


def _check_snowflake(value: str, what: str) -> None:
    if not value or not value.isascii() or not value.isdigit():
        raise ValueError(f"The {what} must be a numeric Discord id, got {value!r}")


class DiscordApi:
    def __init__(self, rest: DiscordRest) -> None:
        self.rest = rest

    @property
    def can_use_bot(self) -> bool:
        return self.rest.has_bot_token

    async def bulk_overwrite_commands(
        self, application_id: str, commands: list[dict[str, Any]], guild_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Replace the application's commands, globally or in one guild; returns Discord's command objects."""
        _check_snowflake(application_id, "application id")
        if guild_id is None:
            route = Route("PUT", "/applications/{application_id}/commands", {"application_id": application_id})
        else:
            _check_snowflake(guild_id, "guild id")
            route = Route(
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                {"application_id": application_id, "guild_id": guild_id},
            )
        result = await self.rest.send(route, json=commands)
        if not isinstance(result, list):
            raise DiscordApiError(
                f"Discord answered PUT {route.path} with something other than a list of commands",
                method="PUT",
                path=route.path,
            )
        return result

    # -- an interaction's own messages, through its token (valid for 15 minutes; no bot token needed) -------------

    async def original_message(self, application_id: str, token: str) -> dict[str, Any]:
        route = _original("GET", application_id, token)
        found = await self.rest.send(route, bot=False)
        return found if isinstance(found, dict) else {}

    async def edit_original(
        self, application_id: str, token: str, message: MessageData, files: Sequence[UploadFile] = ()
    ) -> None:
        await self.rest.send(_original("PATCH", application_id, token), json=message, bot=False, files=files)

    # -- messages in channels, as the bot ------------------------------------------------------------------------

    async def edit_message(
        self, channel_id: str, message_id: str, message: MessageData, files: Sequence[UploadFile] = ()
    ) -> None:
        route = Route(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            {"channel_id": channel_id, "message_id": message_id},
        )
        await self.rest.send(route, json=message, files=files)

    async def create_message(self, channel_id: str, message: MessageData, *, nonce: str) -> dict[str, Any]:
        """Post a message; `nonce` (enforced) makes a repeat of the same post within minutes a no-op."""
        route = Route("POST", "/channels/{channel_id}/messages", {"channel_id": channel_id})
        body: dict[str, Any] = {**message, "nonce": nonce[:25], "enforce_nonce": True}
        created = await self.rest.send(route, json=body)
        return created if isinstance(created, dict) else {}


def _original(method: str, application_id: str, token: str) -> Route:
    return Route(
        method,
        "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
        {"webhook_id": application_id, "webhook_token": token},
    )
