"""What Hunch sends Discord: interaction responses and the messages, embeds and components inside them."""

from __future__ import annotations

from typing import NotRequired, TypedDict

from models.discord.enums import ButtonStyle, ComponentType, InteractionCallbackType, MessageFlags, TextInputStyle


class AllowedMentions(TypedDict, total=False):
    parse: list[str]  # "roles", "users", "everyone"
    users: list[str]
    roles: list[str]
    replied_user: bool


class EmbedField(TypedDict):
    name: str
    value: str
    inline: NotRequired[bool]


class EmbedFooter(TypedDict):
    text: str


class EmbedImage(TypedDict):
    url: str


class Embed(TypedDict, total=False):
    title: str
    description: str
    color: int
    fields: list[EmbedField]
    footer: EmbedFooter
    timestamp: str
    image: EmbedImage


class Button(TypedDict):
    type: ComponentType  # BUTTON
    style: ButtonStyle
    label: str
    custom_id: str
    disabled: NotRequired[bool]


class TextInput(TypedDict):
    type: ComponentType  # TEXT_INPUT
    custom_id: str
    style: TextInputStyle
    label: str
    required: bool
    min_length: int
    max_length: int
    placeholder: NotRequired[str]
    value: NotRequired[str]


class ActionRow(TypedDict):
    type: ComponentType  # ACTION_ROW
    components: list[Button] | list[TextInput]


class PartialAttachment(TypedDict):
    """A file the message carries: for a new one, `id` is the `n` of its `files[n]` part."""

    id: str  # a snowflake; for a new file, the n of its files[n] ("0")
    filename: str
    description: NotRequired[str]  # alt text


class MessageData(TypedDict, total=False):
    """`data` of a message response (and of a message edit)."""

    content: str
    embeds: list[Embed]
    components: list[ActionRow]
    allowed_mentions: AllowedMentions
    flags: MessageFlags
    attachments: list[PartialAttachment]


class UploadFile(TypedDict):
    """A file's bytes: sent as the `files[n]` part of a multipart/form-data body, never inside the JSON."""

    filename: str
    content_type: str
    content: bytes


class ModalData(TypedDict):
    custom_id: str
    title: str
    components: list[ActionRow]


class AutocompleteChoice(TypedDict):
    name: str
    value: str | int | float


class AutocompleteData(TypedDict):
    choices: list[AutocompleteChoice]


class InteractionResponse(TypedDict):
    type: InteractionCallbackType
    data: NotRequired[MessageData | ModalData | AutocompleteData]
    # Not JSON: when present the response goes as multipart/form-data, the rest of it as `payload_json` and
    # file n as `files[n]`, described by `data.attachments[n]`.
    files: NotRequired[list[UploadFile]]
