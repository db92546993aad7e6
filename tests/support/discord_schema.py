"""Check what Hunch sends Discord against Discord's own OpenAPI spec plus the documented rules it misses.

The reference material lives next to the repository at `../shared/discord` (see its README.md); tests that
need it are marked `@requires_shared` and skip when it is absent.

- `assert_valid_response(body)`: an interaction callback (what the HTTP endpoint returns), validated against
  the one `anyOf` branch its `type` selects, then the docs' limits (embed totals, action rows, buttons,
  autocomplete choices, modal title, `allowed_mentions` on every message response).
- `assert_valid_command_definitions(cmds)`: the bulk-overwrite body, each command validated against
  `ApplicationCommandUpdateRequest` plus the docs' naming, ordering and size rules, and Hunch's
  guild-only contexts.

Both raise `AssertionError` listing every problem found.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "discord"
OPENAPI = SHARED / "openapi.json"

requires_shared = pytest.mark.skipif(not OPENAPI.is_file(), reason=f"Discord reference material not found at {SHARED}")

_DOC_URI = "https://discord.com/api/v10/openapi.json"

CALLBACK_SCHEMAS: dict[int, str] = {
    1: "PongInteractionCallbackRequest",
    4: "CreateMessageInteractionCallbackRequest",
    5: "CreateMessageInteractionCallbackRequest",
    6: "UpdateMessageInteractionCallbackRequest",
    7: "UpdateMessageInteractionCallbackRequest",
    8: "ApplicationCommandAutocompleteCallbackRequest",
    9: "ModalInteractionCallbackRequest",
}
COMMAND_SCHEMA = "ApplicationCommandUpdateRequest"

# Message types whose response is a message body that must say which mentions may ping.
_MESSAGE_RESPONSES = frozenset({4, 7})
IS_COMPONENTS_V2 = 1 << 15

# Component types (components reference).
ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
_SELECTS = frozenset({3, 5, 6, 7, 8})
LINK_STYLE, PREMIUM_STYLE = 5, 6

# Application command option types.
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


# --- loading the spec ---------------------------------------------------------------------------------------------


@cache
def openapi() -> dict[str, Any]:
    if not OPENAPI.is_file():
        pytest.skip(f"Discord reference material not found at {SHARED}")
    with OPENAPI.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(openapi(), default_specification=DRAFT202012)
    registry: Registry = Registry().with_resource(_DOC_URI, resource)
    return registry


@cache
def validator_for(schema_name: str) -> Draft202012Validator:
    if schema_name not in openapi()["components"]["schemas"]:
        raise KeyError(f"{schema_name} is not a schema in {OPENAPI}")
    schema = {"$ref": f"{_DOC_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=_registry())


def schema_errors(instance: Any, schema_name: str) -> list[str]:
    """Every spec violation, as `path: what failed` lines (empty when valid).

    For `oneOf`/`anyOf` failures the most relevant branch error is reported instead of the whole union.
    """
    lines = []
    for error in validator_for(schema_name).iter_errors(instance):
        while error.context and (inner := _most_relevant(error.context)) is not None:
            error = inner
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        rule = repr(error.validator_value)
        rule = rule if len(rule) <= 80 else rule[:80] + "..."
        message = error.message if len(error.message) <= 160 else error.message[:160] + "..."
        lines.append(f"{schema_name} {where}: fails {error.validator}={rule} ({message})")
    return sorted(lines)


def _most_relevant(errors: Iterable[ValidationError]) -> ValidationError | None:
    """In a failed union: the deepest error of the branch the instance was meant for (its type or `type` tag
    matched), or None when no branch fits at all (then the union's own error says it best)."""
    branches: dict[Any, list[ValidationError]] = {}
    for error in errors:
        branches.setdefault(error.relative_schema_path[0] if error.relative_schema_path else None, []).append(error)

    def wrong_kind(error: ValidationError) -> bool:
        path = list(error.relative_path)
        if not path:
            return error.validator in ("type", "const", "enum")
        return path == ["type"] and error.validator in ("const", "enum")

    candidates = [b for b in branches.values() if not any(wrong_kind(e) for e in b)]
    if not candidates:
        return None
    return max((e for branch in candidates for e in branch), key=lambda e: len(e.absolute_path))


def _reject(message: str) -> NoReturn:
    raise AssertionError(message)


def _fail(what: str, problems: list[str]) -> None:
    if problems:
        raise AssertionError(f"{what} is invalid:\n  - " + "\n  - ".join(problems))


# --- interaction responses ----------------------------------------------------------------------------------------


def assert_valid_response(body: dict[str, Any]) -> None:
    """Fail unless `body` is a callback Discord accepts: the spec's branch for its type plus the docs' limits."""
    if not isinstance(body, dict):
        _reject(f"an interaction response must be a JSON object, got {type(body).__name__}")
    kind = body.get("type")
    if isinstance(kind, bool) or not isinstance(kind, int) or kind not in CALLBACK_SCHEMAS:
        _reject(f"unknown interaction callback type {kind!r} (expected one of {sorted(CALLBACK_SCHEMAS)})")

    problems = schema_errors(body, CALLBACK_SCHEMAS[kind])
    data = body.get("data")
    if kind in _MESSAGE_RESPONSES:
        if not isinstance(data, dict):
            problems.append(f"type {kind} needs a `data` object (the message)")
        elif "allowed_mentions" not in data:
            problems.append("data.allowed_mentions is missing: every message response must say what may ping")
    if kind in (4, 5, 7) and isinstance(data, dict):
        problems += message_problems(data)
    elif kind == 8:
        problems += autocomplete_problems(data)
    elif kind == 9:
        problems += modal_problems(data)
    _fail(f"interaction response (type {kind})", problems)


def message_problems(data: dict[str, Any]) -> list[str]:
    """The docs' message rules the spec does not encode (or encodes only per field)."""
    problems: list[str] = []
    flags = data.get("flags") or 0
    v2 = isinstance(flags, int) and bool(flags & IS_COMPONENTS_V2)

    content = data.get("content")
    if isinstance(content, str) and len(content) > 2000:
        problems.append(f"content is {len(content)} characters (max 2000)")
    embeds = data.get("embeds") or []
    if v2 and (content or embeds):
        problems.append("a message with IS_COMPONENTS_V2 cannot use content or embeds")
    problems += embed_problems(embeds)

    components = data.get("components") or []
    if isinstance(components, list):
        problems += message_component_problems(components, v2=v2)
    return problems


def embed_problems(embeds: Any) -> list[str]:
    if not isinstance(embeds, list):
        return ["embeds must be an array"]
    problems: list[str] = []
    if len(embeds) > 10:
        problems.append(f"{len(embeds)} embeds (max 10)")
    total = 0
    for index, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            problems.append(f"embeds[{index}] is not an object")
            continue
        where = f"embeds[{index}]"
        total += _limited(problems, f"{where}.title", embed.get("title"), 256)
        total += _limited(problems, f"{where}.description", embed.get("description"), 4096)
        footer = embed.get("footer")
        if isinstance(footer, dict):
            total += _limited(problems, f"{where}.footer.text", footer.get("text"), 2048)
        author = embed.get("author")
        if isinstance(author, dict):
            total += _limited(problems, f"{where}.author.name", author.get("name"), 256)
        fields = embed.get("fields") or []
        if isinstance(fields, list):
            if len(fields) > 25:
                problems.append(f"{where} has {len(fields)} fields (max 25)")
            for number, field in enumerate(fields):
                if not isinstance(field, dict):
                    problems.append(f"{where}.fields[{number}] is not an object")
                    continue
                for key, limit in (("name", 256), ("value", 1024)):
                    value = field.get(key)
                    if not isinstance(value, str) or not value.strip():
                        problems.append(f"{where}.fields[{number}].{key} must be a non-empty string")
                    total += _limited(problems, f"{where}.fields[{number}].{key}", value, limit)
    if total > 6000:
        problems.append(f"embeds total {total} characters (max 6000 across title, description, fields, footer, author)")
    return problems


def _limited(problems: list[str], where: str, value: Any, limit: int) -> int:
    if not isinstance(value, str):
        return 0
    if len(value) > limit:
        problems.append(f"{where} is {len(value)} characters (max {limit})")
    return len(value)


def _walk_components(components: list[Any]) -> list[dict[str, Any]]:
    """Every component, nested ones included (rows, sections, containers, labels, accessories)."""
    found: list[dict[str, Any]] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        found.append(component)
        children = component.get("components")
        if isinstance(children, list):
            found += _walk_components(children)
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                found += _walk_components([child])
    return found


def message_component_problems(components: list[Any], *, v2: bool) -> list[str]:
    problems: list[str] = []
    if not v2:
        if len(components) > 5:
            problems.append(f"{len(components)} action rows (max 5 without IS_COMPONENTS_V2)")
        for index, row in enumerate(components):
            if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
                problems.append(f"components[{index}] must be an action row without IS_COMPONENTS_V2")
    everything = _walk_components(components)
    if len(everything) > 40:
        problems.append(f"{len(everything)} components in total (max 40)")
    for component in everything:
        if component.get("type") == ACTION_ROW:
            problems += _action_row_problems(component)
        elif component.get("type") == BUTTON:
            problems += _button_problems(component)
    problems += _custom_id_problems(everything)
    return problems


def _action_row_problems(row: dict[str, Any]) -> list[str]:
    children = [c for c in row.get("components") or [] if isinstance(c, dict)]
    buttons = [c for c in children if c.get("type") == BUTTON]
    selects = [c for c in children if c.get("type") in _SELECTS]
    problems = []
    if not children:
        problems.append("an action row has no components")
    if len(buttons) > 5:
        problems.append(f"an action row has {len(buttons)} buttons (max 5)")
    if selects and len(children) > 1:
        problems.append("an action row with a select menu cannot hold anything else")
    return problems


def _button_problems(button: dict[str, Any]) -> list[str]:
    problems = []
    style = button.get("style")
    name = str(button.get("custom_id") or button.get("url") or button.get("label") or "?")[:40]
    has_url = bool(button.get("url"))
    has_custom_id = bool(button.get("custom_id"))
    if style == LINK_STYLE:
        if not has_url or has_custom_id:
            problems.append(f"link button {name!r} needs a url and no custom_id")
    elif style == PREMIUM_STYLE:
        if not button.get("sku_id") or has_url or has_custom_id or "label" in button or "emoji" in button:
            problems.append(f"premium button {name!r} needs a sku_id and no custom_id, url, label or emoji")
    else:
        if not has_custom_id or has_url:
            problems.append(f"button {name!r} (style {style}) needs a custom_id and no url")
        if button.get("sku_id"):
            problems.append(f"button {name!r} (style {style}) cannot have a sku_id")
    label = button.get("label")
    if isinstance(label, str) and len(label) > 80:
        problems.append(f"button label is {len(label)} characters (max 80)")
    return problems


def _custom_id_problems(components: list[dict[str, Any]]) -> list[str]:
    problems = []
    seen: set[str] = set()
    for component in components:
        custom_id = component.get("custom_id")
        if custom_id is None:
            continue
        if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
            length = len(custom_id) if isinstance(custom_id, str) else "?"
            problems.append(f"custom_id must be 1-100 characters, got {length}: {str(custom_id)[:40]!r}...")
        elif custom_id in seen:
            problems.append(f"custom_id {custom_id!r} is used twice in one message")
        else:
            seen.add(custom_id)
    return problems


def autocomplete_problems(data: Any) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return ["an autocomplete response needs data.choices (an array, possibly empty)"]
    choices = data["choices"]
    problems = []
    if len(choices) > 25:
        problems.append(f"{len(choices)} autocomplete choices (max 25)")
    for index, choice in enumerate(choices):
        problems += _choice_problems(f"choices[{index}]", choice)
    return problems


def _choice_problems(where: str, choice: Any) -> list[str]:
    if not isinstance(choice, dict):
        return [f"{where} must be an object with name and value"]
    problems = []
    name = choice.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        problems.append(f"{where}.name must be 1-100 characters, got {len(name) if isinstance(name, str) else name!r}")
    value = choice.get("value")
    if isinstance(value, str) and len(value) > 100:
        problems.append(f"{where}.value is {len(value)} characters (max 100 for a string)")
    elif value is None:
        problems.append(f"{where}.value is missing")
    return problems


def modal_problems(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return ["a modal response needs a data object"]
    problems = []
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        problems.append(f"modal title must be 1-45 characters, got {len(title) if isinstance(title, str) else title!r}")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        problems.append("modal custom_id must be 1-100 characters")
    components = data.get("components")
    if isinstance(components, list):
        problems += _custom_id_problems(_walk_components(components))
    return problems


# --- command definitions -----------------------------------------------------------------------------------------


def assert_valid_command_definitions(cmds: list[dict[str, Any]]) -> None:
    """Fail unless `cmds` is a bulk-overwrite body Discord accepts and every command is guild-only."""
    if not isinstance(cmds, list):
        _reject(f"command definitions must be a JSON array, got {type(cmds).__name__}")
    problems: list[str] = []
    chat_input = [c for c in cmds if isinstance(c, dict) and c.get("type", 1) == 1]
    if len(chat_input) > 100:
        problems.append(f"{len(chat_input)} CHAT_INPUT commands (max 100)")
    names = [c.get("name") for c in chat_input]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"duplicate command names: {duplicates}")
    for index, command in enumerate(cmds):
        if not isinstance(command, dict):
            problems.append(f"[{index}] is not an object")
            continue
        problems += [f"/{command.get('name', index)}: {p}" for p in command_problems(command)]
    _fail("command definitions", problems)


def command_problems(command: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for_spec = copy.deepcopy(command)
    permissions = command.get("default_member_permissions")
    if permissions is not None:
        # The docs send the bit set as a string; the spec types it as an integer. The docs win.
        if isinstance(permissions, str) and permissions.isascii() and permissions.isdigit():
            for_spec["default_member_permissions"] = int(permissions)
        else:
            problems.append(f"default_member_permissions must be a string of digits, got {permissions!r}")
            for_spec.pop("default_member_permissions")
    problems += schema_errors(for_spec, COMMAND_SCHEMA)

    if command.get("type", 1) != 1:
        problems.append(f"type must be 1 (CHAT_INPUT), got {command.get('type')!r}")
    if command.get("contexts") != [0]:
        problems.append(f"contexts must be [0] (guild only), got {command.get('contexts')!r}")
    if command.get("integration_types") != [0]:
        problems.append(f"integration_types must be [0] (guild install), got {command.get('integration_types')!r}")
    problems += _name_problems("name", command.get("name"))
    problems += _description_problems("description", command.get("description"))
    options = command.get("options") or []
    if isinstance(options, list):
        problems += _options_problems("options", options, depth=0)
    size = _counted_characters(command)
    if size > 8000:
        problems.append(f"{size} characters of names, descriptions and choice values (max 8000)")
    return problems


def _options_problems(where: str, options: list[Any], *, depth: int) -> list[str]:
    problems: list[str] = []
    if len(options) > 25:
        problems.append(f"{where} has {len(options)} options (max 25)")
    dicts = [o for o in options if isinstance(o, dict)]
    if len(dicts) != len(options):
        problems.append(f"{where} contains something that is not an option object")
    kinds = [o.get("type") for o in dicts]
    subcommands = [k for k in kinds if k in (SUB_COMMAND, SUB_COMMAND_GROUP)]
    if subcommands and len(subcommands) != len(kinds):
        problems.append(f"{where} mixes subcommands with plain options")
    names = [o.get("name") for o in dicts]
    duplicates = sorted({str(n) for n in names if names.count(n) > 1})
    if duplicates:
        problems.append(f"{where} has duplicate names {duplicates}")

    seen_optional = False
    for index, option in enumerate(dicts):
        here = f"{where}[{index}]({option.get('name')})"
        kind = option.get("type")
        problems += _name_problems(f"{here}.name", option.get("name"))
        problems += _description_problems(f"{here}.description", option.get("description"))
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if "required" in option:
                problems.append(f"{here}: a subcommand cannot be required/optional")
            if (kind == SUB_COMMAND_GROUP and depth > 0) or (kind == SUB_COMMAND and depth > 1):
                problems.append(f"{here}: subcommands nest at most group > subcommand")
            children = option.get("options") or []
            if kind == SUB_COMMAND_GROUP and any(
                isinstance(c, dict) and c.get("type") != SUB_COMMAND for c in children
            ):
                problems.append(f"{here}: a subcommand group may only contain subcommands")
            if kind == SUB_COMMAND and any(
                isinstance(c, dict) and c.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for c in children
            ):
                problems.append(f"{here}: a subcommand cannot contain subcommands")
            problems += _options_problems(f"{here}.options", children, depth=depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                problems.append(f"{here} is required but comes after an optional option")
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if choices and option.get("autocomplete"):
            problems.append(f"{here}: autocomplete cannot be combined with choices")
        if len(choices) > 25:
            problems.append(f"{here} has {len(choices)} choices (max 25)")
        for number, choice in enumerate(choices):
            problems += _choice_problems(f"{here}.choices[{number}]", choice)
        for low, high in (("min_value", "max_value"), ("min_length", "max_length")):
            low_value, high_value = option.get(low), option.get(high)
            if isinstance(low_value, int | float) and isinstance(high_value, int | float) and low_value > high_value:
                problems.append(f"{here}: {low} {option[low]} exceeds {high} {option[high]}")
    return problems


def _name_char_ok(char: str) -> bool:
    # ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$ (Python's re has no \p{...}).
    if char in "-_'":
        return True
    if unicodedata.category(char)[0] in "LN":
        return True
    code = ord(char)
    return 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF or 0x0E00 <= code <= 0x0E7F


def _name_problems(where: str, name: Any) -> list[str]:
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return [f"{where} must be 1-32 characters, got {name!r}"]
    problems = []
    if not all(_name_char_ok(char) for char in name):
        problems.append(f"{where} {name!r} has characters outside [-_'letters digits]")
    if name != name.lower():
        problems.append(f"{where} {name!r} must be lowercase")
    return problems


def _description_problems(where: str, description: Any) -> list[str]:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        length = len(description) if isinstance(description, str) else description
        return [f"{where} must be 1-100 characters, got {length!r}"]
    return []


def _counted_characters(node: dict[str, Any]) -> int:
    """Name + description + choice names/values of a command and everything under it (the 8000 limit)."""
    total = sum(len(str(node.get(key) or "")) for key in ("name", "description"))
    for choice in node.get("choices") or []:
        if isinstance(choice, dict):
            total += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    for option in node.get("options") or []:
        if isinstance(option, dict):
            total += _counted_characters(option)
    return total
