"""Message components: buttons in action rows, and the text inputs of modals."""

from __future__ import annotations

from models.discord.enums import ButtonStyle, ComponentType, TextInputStyle
from models.discord.messages import ActionRow, Button, TextInput

BUTTONS_PER_ROW = 5
LABEL_LIMIT = 80
INPUT_LABEL_LIMIT = 45
PLACEHOLDER_LIMIT = 100


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def button(label: str, custom_id: str, style: ButtonStyle = ButtonStyle.SECONDARY, *, disabled: bool = False) -> Button:
    found: Button = {
        "type": ComponentType.BUTTON,
        "style": style,
        "label": _cut(label, LABEL_LIMIT),
        "custom_id": custom_id,
    }
    if disabled:
        found["disabled"] = True
    return found


def rows(buttons: list[Button]) -> list[ActionRow]:
    """The buttons in rows of at most five."""
    return [
        {"type": ComponentType.ACTION_ROW, "components": buttons[i : i + BUTTONS_PER_ROW]}
        for i in range(0, len(buttons), BUTTONS_PER_ROW)
    ]


def text_input(
    custom_id: str,
    label: str,
    *,
    placeholder: str | None = None,
    required: bool = True,
    min_length: int = 1,
    max_length: int = 20,
    value: str | None = None,
) -> ActionRow:
    """A short text input, in the action row a modal needs."""
    field: TextInput = {
        "type": ComponentType.TEXT_INPUT,
        "custom_id": custom_id,
        "style": TextInputStyle.SHORT,
        "label": _cut(label, INPUT_LABEL_LIMIT),
        "required": required,
        "min_length": min_length,
        "max_length": max_length,
    }
    if placeholder:
        field["placeholder"] = _cut(placeholder, PLACEHOLDER_LIMIT)
    if value:
        field["value"] = value
    return {"type": ComponentType.ACTION_ROW, "components": [field]}
