"""Builders for interaction responses, within Discord's documented limits.

Every message sets `allowed_mentions` so that text written by members can never ping anyone: a message
that must ping names exactly whom in `allowed_mentions`.
"""

from __future__ import annotations

from models.discord.enums import InteractionCallbackType, MessageFlags
from models.discord.messages import (
    ActionRow,
    AllowedMentions,
    AutocompleteChoice,
    Embed,
    InteractionResponse,
    MessageData,
)

CONTENT_LIMIT = 2000
EMBEDS_LIMIT = 10
ROWS_LIMIT = 5
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100
MODAL_TITLE_LIMIT = 45
CUSTOM_ID_LIMIT = 100

NO_MENTIONS: AllowedMentions = {"parse": []}
MENTIONS_LIMIT = 100  # users one message may name in `allowed_mentions`


def mentioning(user_ids: list[str]) -> AllowedMentions:
    """Ping exactly these members, and nobody else."""
    return {"parse": [], "users": user_ids[:MENTIONS_LIMIT]}


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_data(
    content: str | None = None,
    *,
    embeds: list[Embed] | None = None,
    components: list[ActionRow] | None = None,
    allowed_mentions: AllowedMentions | None = None,
) -> MessageData:
    data: MessageData = {"allowed_mentions": allowed_mentions or NO_MENTIONS}
    if content is not None:
        data["content"] = cut(content, CONTENT_LIMIT)
    if embeds is not None:
        data["embeds"] = embeds[:EMBEDS_LIMIT]
    if components is not None:
        data["components"] = components[:ROWS_LIMIT]
    return data


def message(
    content: str | None = None,
    *,
    embeds: list[Embed] | None = None,
    components: list[ActionRow] | None = None,
    ephemeral: bool = False,
    allowed_mentions: AllowedMentions | None = None,
) -> InteractionResponse:
    data = message_data(content, embeds=embeds, components=components, allowed_mentions=allowed_mentions)
    if ephemeral:
        data["flags"] = MessageFlags.EPHEMERAL
    return {"type": InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE, "data": data}


def deferred() -> InteractionResponse:
    """Acknowledged: Discord shows that the app is thinking, and the reply comes as an edit of it."""
    return {"type": InteractionCallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}


def ephemeral(
    content: str, *, embeds: list[Embed] | None = None, components: list[ActionRow] | None = None
) -> InteractionResponse:
    return message(content, embeds=embeds, components=components, ephemeral=True)


def update(
    content: str | None = None,
    *,
    embeds: list[Embed] | None = None,
    components: list[ActionRow] | None = None,
    allowed_mentions: AllowedMentions | None = None,
) -> InteractionResponse:
    """Edit the message the component was attached to."""
    data = message_data(content, embeds=embeds, components=components, allowed_mentions=allowed_mentions)
    return {"type": InteractionCallbackType.UPDATE_MESSAGE, "data": data}


def modal(custom_id: str, title: str, components: list[ActionRow]) -> InteractionResponse:
    return {
        "type": InteractionCallbackType.MODAL,
        "data": {
            "custom_id": custom_id[:CUSTOM_ID_LIMIT],
            "title": cut(title, MODAL_TITLE_LIMIT),
            "components": components[:ROWS_LIMIT],
        },
    }


def autocomplete(choices: list[tuple[str, str | int | float]]) -> InteractionResponse:
    shown: list[AutocompleteChoice] = [
        {"name": cut(name, CHOICE_NAME_LIMIT) or "?", "value": value} for name, value in choices[:CHOICES_LIMIT]
    ]
    return {"type": InteractionCallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": shown}}
