"""Typed builders for interaction responses, within Discord's documented limits.

Every message sets `allowed_mentions` so that text written by members can never ping anyone.
"""

from __future__ import annotations

from typing import Any

from discord_interactions import InteractionResponseFlags, InteractionResponseType

NO_MENTIONS: dict[str, list[str]] = {"parse": []}
CONTENT_LIMIT = 2000
CHOICES_LIMIT = 25
CHOICE_NAME_LIMIT = 100
MODAL_TITLE_LIMIT = 45

Json = dict[str, Any]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message_data(
    content: str | None,
    embeds: list[Json] | None,
    components: list[Json] | None,
    allowed_mentions: Json | None,
) -> Json:
    data: Json = {"allowed_mentions": allowed_mentions or NO_MENTIONS}
    if content is not None:
        data["content"] = _cut(content, CONTENT_LIMIT)
    if embeds is not None:
        data["embeds"] = embeds[:10]
    if components is not None:
        data["components"] = components[:5]
    return data


def pong() -> Json:
    return {"type": int(InteractionResponseType.PONG)}


def message(
    content: str | None = None,
    *,
    embeds: list[Json] | None = None,
    components: list[Json] | None = None,
    ephemeral: bool = False,
    allowed_mentions: Json | None = None,
) -> Json:
    data = _message_data(content, embeds, components, allowed_mentions)
    if ephemeral:
        data["flags"] = int(InteractionResponseFlags.EPHEMERAL)
    return {"type": int(InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE), "data": data}


def ephemeral(content: str, *, embeds: list[Json] | None = None, components: list[Json] | None = None) -> Json:
    return message(content, embeds=embeds, components=components, ephemeral=True)


def update(
    content: str | None = None,
    *,
    embeds: list[Json] | None = None,
    components: list[Json] | None = None,
    allowed_mentions: Json | None = None,
) -> Json:
    """Edit the message the component was attached to."""
    return {
        "type": int(InteractionResponseType.UPDATE_MESSAGE),
        "data": _message_data(content, embeds, components, allowed_mentions),
    }


def modal(custom_id: str, title: str, components: list[Json]) -> Json:
    return {
        "type": int(InteractionResponseType.MODAL),
        "data": {"custom_id": custom_id[:100], "title": _cut(title, MODAL_TITLE_LIMIT), "components": components[:5]},
    }


def text_input(
    custom_id: str,
    label: str,
    *,
    placeholder: str | None = None,
    required: bool = True,
    min_length: int = 1,
    max_length: int = 20,
    value: str | None = None,
) -> Json:
    """A short text input wrapped in the action row a modal needs."""
    field: Json = {
        "type": 4,
        "custom_id": custom_id[:100],
        "style": 1,
        "label": _cut(label, 45),
        "required": required,
        "min_length": min_length,
        "max_length": max_length,
    }
    if placeholder:
        field["placeholder"] = _cut(placeholder, 100)
    if value:
        field["value"] = value
    return {"type": 1, "components": [field]}


def autocomplete(choices: list[tuple[str, str | int | float]]) -> Json:
    return {
        "type": int(InteractionResponseType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT),
        "data": {
            "choices": [
                {"name": _cut(name, CHOICE_NAME_LIMIT) or "?", "value": value}
                for name, value in choices[:CHOICES_LIMIT]
            ]
        },
    }
