"""Routes interactions to handlers: by command path, `custom_id` action or focused option.

The interaction's `data` is parsed here, once, into the shape its type has; a `data` of another shape
raises `MalformedInteraction` (it cannot be what Discord sends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.discord.custom_ids import action_of
from app.discord.errors import MalformedInteraction
from app.services.use_cases import UseCases
from models.discord.enums import ApplicationCommandOptionType, InteractionType
from models.discord.interactions import CommandData, CommandOption, Interaction, ModalData
from models.discord.messages import InteractionResponse

Handler = Callable[["Context"], Awaitable[InteractionResponse]]
_GROUPS = (ApplicationCommandOptionType.SUB_COMMAND, ApplicationCommandOptionType.SUB_COMMAND_GROUP)
_MAX_NESTING = 3  # a command, a group and a subcommand


@dataclass(frozen=True)
class Context:
    """What a handler gets: the interaction, its parsed data and options, and the use cases it may call."""

    interaction: Interaction
    use_cases: UseCases
    path: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    focused: str | None = None
    command: CommandData | None = None
    modal: ModalData | None = None

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def modal_values(self) -> dict[str, str]:
        return self.modal.values() if self.modal is not None else {}


def command_path(data: CommandData) -> tuple[str, dict[str, Any], str | None]:
    """`("market create", {"question": ...}, focused_option_name)` from nested subcommand options."""
    parts = [data.name]
    options: list[CommandOption] = data.options
    while len(options) == 1 and options[0].type in _GROUPS and options[0].value is None:
        if len(parts) >= _MAX_NESTING:
            raise MalformedInteraction("subcommands nested deeper than Discord nests them")
        parts.append(options[0].name)
        options = options[0].options or []
    values: dict[str, Any] = {}
    focused = None
    for option in options:
        values[option.name] = option.value
        if option.focused:
            focused = option.name
    return " ".join(parts), values, focused


class Router:
    def __init__(self) -> None:
        self._commands: dict[str, Handler] = {}
        self._components: dict[str, Handler] = {}
        self._modals: dict[str, Handler] = {}
        self._autocomplete: dict[tuple[str, str], Handler] = {}

    def command(self, path: str) -> Callable[[Handler], Handler]:
        return self._register(self._commands, path)

    def component(self, action: str) -> Callable[[Handler], Handler]:
        return self._register(self._components, action)

    def modal(self, action: str) -> Callable[[Handler], Handler]:
        return self._register(self._modals, action)

    def autocomplete(self, path: str, *option_names: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            for name in option_names:
                self._autocomplete[(path, name)] = handler
            return handler

        return decorate

    @staticmethod
    def _register(table: dict[Any, Handler], key: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            if key in table:
                raise ValueError(f"duplicate route {key!r}")
            table[key] = handler
            return handler

        return decorate

    def resolve(self, interaction: Interaction, use_cases: UseCases) -> tuple[Handler | None, Context]:
        """The handler for this interaction (None when nothing matches) and its context."""
        try:
            return self._resolve(interaction, use_cases)
        except (ValidationError, RecursionError) as error:
            raise MalformedInteraction(f"data does not have the shape of a type {interaction.type} interaction") from (
                error if isinstance(error, ValidationError) else None
            )

    def _resolve(self, interaction: Interaction, use_cases: UseCases) -> tuple[Handler | None, Context]:
        kind = interaction.type
        if kind in (InteractionType.APPLICATION_COMMAND, InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE):
            command = interaction.command()
            path, options, focused = command_path(command)
            ctx = Context(interaction, use_cases, path, options, focused, command=command)
            if kind == InteractionType.APPLICATION_COMMAND:
                return self._commands.get(path), ctx
            return self._autocomplete.get((path, focused or "")), ctx
        if kind == InteractionType.MESSAGE_COMPONENT:
            custom_id = interaction.component().custom_id
            return self._components.get(action_of(custom_id)), Context(interaction, use_cases, custom_id)
        if kind == InteractionType.MODAL_SUBMIT:
            modal = interaction.modal()
            handler = self._modals.get(action_of(modal.custom_id))
            return handler, Context(interaction, use_cases, modal.custom_id, modal=modal)
        return None, Context(interaction, use_cases)
