"""The shape of a slash command's definition, as Discord's docs describe it (`Choice`, `Option`, `Command`,
each serialised by `to_json`), and the small builders `handlers.definitions` writes its table with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.discord.enums import ApplicationCommandOptionType as OptionType
from models.discord.enums import (
    ApplicationCommandType,
    ApplicationIntegrationType,
    InteractionContextType,
)


@dataclass(frozen=True, slots=True)
class Choice:
    name: str
    value: str | int | float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value}


@dataclass(frozen=True, slots=True)
class Option:
    type: OptionType
    name: str
    description: str
    required: bool = False
    autocomplete: bool = False
    choices: tuple[Choice, ...] = ()
    min_value: int | float | None = None
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    options: tuple[Option, ...] = ()  # only for SUB_COMMAND / SUB_COMMAND_GROUP

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": int(self.type), "name": self.name, "description": self.description}
        if self.type in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
            body["options"] = [option.to_json() for option in self.options]
            return body
        body["required"] = self.required
        if self.autocomplete:
            body["autocomplete"] = True
        if self.choices:
            body["choices"] = [choice.to_json() for choice in self.choices]
        for key in ("min_value", "max_value", "min_length", "max_length"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    description: str
    options: tuple[Option, ...] = ()
    default_member_permissions: int | None = None  # None: everyone; a bit set: members need all of those

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": int(ApplicationCommandType.CHAT_INPUT),
            "name": self.name,
            "description": self.description,
            "contexts": [int(InteractionContextType.GUILD)],
            "integration_types": [int(ApplicationIntegrationType.GUILD_INSTALL)],
        }
        if self.options:
            body["options"] = [option.to_json() for option in self.options]
        if self.default_member_permissions is not None:
            # The docs serialise the permission bit set as a string.
            body["default_member_permissions"] = str(self.default_member_permissions)
        return body


# --- small builders, so the table below reads like the command list --------------------------------------------


def sub(name: str, description: str, *options: Option) -> Option:
    return Option(OptionType.SUB_COMMAND, name, description, options=options)


def group(name: str, description: str, *subcommands: Option) -> Option:
    return Option(OptionType.SUB_COMMAND_GROUP, name, description, options=subcommands)


def string(
    name: str,
    description: str,
    *,
    required: bool = False,
    autocomplete: bool = False,
    max_length: int | None = None,
    choices: tuple[Choice, ...] = (),
) -> Option:
    return Option(
        OptionType.STRING,
        name,
        description,
        required=required,
        autocomplete=autocomplete,
        max_length=max_length,
        choices=choices,
    )


def integer(
    name: str, description: str, *, required: bool = False, min_value: int | None = None, max_value: int | None = None
) -> Option:
    return Option(OptionType.INTEGER, name, description, required=required, min_value=min_value, max_value=max_value)


def number(name: str, description: str, *, required: bool = False, min_value: float | None = None) -> Option:
    return Option(OptionType.NUMBER, name, description, required=required, min_value=min_value)


def user(name: str, description: str, *, required: bool = False) -> Option:
    return Option(OptionType.USER, name, description, required=required)


def role(name: str, description: str) -> Option:
    return Option(OptionType.ROLE, name, description)


def boolean(name: str, description: str) -> Option:
    return Option(OptionType.BOOLEAN, name, description)


def market_option() -> Option:
    return string("market", "The market (start typing to search)", required=True, autocomplete=True)


def outcome_option(description: str = "The outcome (start typing to search)") -> Option:
    return string("outcome", description, required=True, autocomplete=True)
