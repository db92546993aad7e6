"""The slash-command definitions: Discord accepts them and the public contract holds (registering them is
tested in tests/discord/test_register.py).

Also tests the schema checker itself (tests/support/discord_schema.py), so that a checker that lets
everything through cannot make the rest of the suite pass.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.definitions import COMMANDS, command_definitions
from models.discord.enums import ApplicationCommandOptionType as OptionType
from models.discord.enums import Permissions
from tests.support.discord_schema import (
    assert_valid_command_definitions,
    assert_valid_response,
    requires_shared,
)

STR, INT, BOOL, USER, ROLE, NUM, SUB, GROUP = (
    OptionType.STRING,
    OptionType.INTEGER,
    OptionType.BOOLEAN,
    OptionType.USER,
    OptionType.ROLE,
    OptionType.NUMBER,
    OptionType.SUB_COMMAND,
    OptionType.SUB_COMMAND_GROUP,
)
AC = {"autocomplete": True}
MARKET_AC = ("market", STR, True, AC)

# name -> [(option, type, required, extra fields)], or for subcommands: name -> {sub: [...]}
CONTRACT: dict[str, Any] = {
    "market": {
        "create": [
            ("question", STR, True, {"max_length": 200}),
            ("outcomes", STR, False, {"max_length": 600}),
            ("closes_in", STR, False, {}),
            ("liquidity", INT, False, {"min_value": 10, "max_value": 1_000_000}),
            ("description", STR, False, {"max_length": 1000}),
        ],
        "show": [MARKET_AC],
        "chart": [
            MARKET_AC,
            (
                "period",
                STR,
                False,
                {
                    "choices": [
                        {"name": "Last day", "value": "1d"},
                        {"name": "Last week", "value": "1w"},
                        {"name": "Last 30 days", "value": "1m"},
                        {"name": "All time", "value": "all"},
                    ]
                },
            ),
        ],
        "list": [
            (
                "status",
                STR,
                False,
                {
                    "choices": [
                        {"name": "Open", "value": "open"},
                        {"name": "Closed", "value": "closed"},
                        {"name": "Resolved", "value": "resolved"},
                        {"name": "Cancelled", "value": "cancelled"},
                        {"name": "All", "value": "all"},
                    ]
                },
            )
        ],
        "close": [MARKET_AC],
        "resolve": [MARKET_AC, ("outcome", STR, True, AC)],
        "resolve-weighted": [MARKET_AC, ("weights", STR, True, {})],
        "cancel": [MARKET_AC, ("reason", STR, False, {"max_length": 200})],
        "unresolve": [MARKET_AC, ("reason", STR, False, {"max_length": 200})],
        "subsidize": [MARKET_AC, ("amount", INT, True, {"min_value": 1, "max_value": 10**12})],
    },
    "bet": [MARKET_AC, ("outcome", STR, True, AC), ("amount", INT, True, {"min_value": 1})],
    "sell": [MARKET_AC, ("outcome", STR, True, AC), ("shares", NUM, False, {"min_value": 0.000001})],
    "balance": [("user", USER, False, {})],
    "portfolio": [("user", USER, False, {})],
    "leaderboard": [
        (
            "by",
            STR,
            False,
            {
                "choices": [
                    {"name": "Balance", "value": "balance"},
                    {"name": "Profit", "value": "profit"},
                    {"name": "Accuracy", "value": "accuracy"},
                ]
            },
        ),
        ("season", STR, False, {"autocomplete": True, "max_length": 40}),
    ],
    "stats": [("user", USER, False, {})],
    "daily": [],
    "give": [("user", USER, True, {}), ("amount", INT, True, {"min_value": 1})],
    "admin": {
        "config": [
            ("starting_balance", INT, False, {"min_value": 0}),
            ("daily_bonus", INT, False, {"min_value": 0}),
            ("default_liquidity", INT, False, {"min_value": 10}),
            ("default_duration", STR, False, {}),
            ("max_stake", INT, False, {"min_value": 1}),
            ("currency", STR, False, {"max_length": 20}),
            ("creator_role", ROLE, False, {}),
            ("resolver_role", ROLE, False, {}),
            ("clear_creator_role", BOOL, False, {}),
            ("clear_resolver_role", BOOL, False, {}),
            ("mention_winners", BOOL, False, {}),
            ("announce_closing", BOOL, False, {}),
            ("unresolve_window", STR, False, {}),
            ("auto_refund_after", STR, False, {}),
        ],
        "grant": [
            ("user", USER, True, {}),
            ("amount", INT, True, {"min_value": 1}),
            ("reason", STR, False, {"max_length": 200}),
        ],
        "season": {"start": [("name", STR, False, {"max_length": 40})]},
    },
}

_CONSTRAINT_KEYS = ("autocomplete", "choices", "min_value", "max_value", "min_length", "max_length")


def _options_shape(options: list[dict[str, Any]]) -> list[tuple[str, int, bool, dict[str, Any]]]:
    return [
        (o["name"], o["type"], o.get("required", False), {k: o[k] for k in _CONSTRAINT_KEYS if k in o}) for o in options
    ]


def _by_name() -> dict[str, dict[str, Any]]:
    return {command["name"]: command for command in command_definitions()}


# --- Discord accepts them ------------------------------------------------------------------------------------------


@requires_shared
def test_definitions_validate_against_spec_and_docs() -> None:
    assert_valid_command_definitions(command_definitions())


def test_definitions_are_a_json_array_of_plain_data() -> None:
    commands = command_definitions()
    assert json.loads(json.dumps(commands)) == commands
    assert command_definitions() is not commands  # a fresh copy each call; callers may mutate it


def test_every_command_is_a_guild_only_slash_command() -> None:
    for command in command_definitions():
        assert command["type"] == 1, command["name"]
        assert command["contexts"] == [0], command["name"]
        assert command["integration_types"] == [0], command["name"]
        assert 1 <= len(command["description"]) <= 100


# --- the public contract -------------------------------------------------------------------------------------------


def test_command_names_are_exactly_the_contract() -> None:
    assert [command["name"] for command in command_definitions()] == list(CONTRACT)
    assert len(COMMANDS) == len(CONTRACT)


@pytest.mark.parametrize("name", list(CONTRACT))
def test_options_are_exactly_the_contract(name: str) -> None:
    command = _by_name()[name]
    expected = CONTRACT[name]
    if isinstance(expected, dict):
        _assert_subcommands(name, command["options"], expected)
    else:
        assert _options_shape(command.get("options", [])) == expected, f"/{name}"


def _assert_subcommands(path: str, subcommands: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert [option["name"] for option in subcommands] == list(expected)
    for sub in subcommands:
        assert "required" not in sub
        if isinstance(expected[sub["name"]], dict):
            assert sub["type"] == GROUP
            _assert_subcommands(f"{path} {sub['name']}", sub["options"], expected[sub["name"]])
        else:
            assert sub["type"] == SUB
            assert _options_shape(sub.get("options", [])) == expected[sub["name"]], f"/{path} {sub['name']}"


def test_only_admin_needs_manage_server_sent_as_a_string() -> None:
    commands = _by_name()
    assert commands["admin"]["default_member_permissions"] == "32" == str(Permissions.MANAGE_GUILD)
    for name, command in commands.items():
        if name != "admin":
            assert "default_member_permissions" not in command, name


def test_outcomes_description_tells_the_format() -> None:
    create = next(sub for sub in _by_name()["market"]["options"] if sub["name"] == "create")
    outcomes = next(option for option in create["options"] if option["name"] == "outcomes")
    assert outcomes["description"] == "Comma-separated, 2\u201310 (default Yes, No)"  # an en dash


# --- the checker itself can fail -----------------------------------------------------------------------------------

_OK_MESSAGE: dict[str, Any] = {
    "type": 4,
    "data": {
        "content": "Market created",
        "allowed_mentions": {"parse": []},
        "flags": 64,
        "embeds": [
            {
                "title": "Will it rain?",
                "description": "Closes in 3 days",
                "color": 0x5865F2,
                "fields": [{"name": "Yes", "value": "50%", "inline": True}],
                "footer": {"text": "Hunch"},
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "custom_id": "bet:1:yes", "label": "Bet Yes"},
                    {"type": 2, "style": 5, "url": "https://example.com/m/1", "label": "Open"},
                ],
            }
        ],
    },
}


def _message(**data: Any) -> dict[str, Any]:
    return {"type": 4, "data": {"allowed_mentions": {"parse": []}, **data}}


def _choices(count: int) -> dict[str, Any]:
    return {"type": 8, "data": {"choices": [{"name": f"Market {n}", "value": str(n)} for n in range(count)]}}


@requires_shared
@pytest.mark.parametrize(
    "body",
    [
        {"type": 1},
        _OK_MESSAGE,
        {"type": 5, "data": {"flags": 64}},
        {"type": 6},
        {**_OK_MESSAGE, "type": 7},
        _choices(25),
        {"type": 8, "data": {"choices": []}},
        {
            "type": 9,
            "data": {
                "custom_id": "create_market",
                "title": "New market",
                "components": [
                    {"type": 18, "label": "Question", "component": {"type": 4, "custom_id": "question", "style": 1}}
                ],
            },
        },
        _message(embeds=[{"description": "x" * 4096}, {"description": "y" * 1904}]),  # exactly 6000
    ],
    ids=["pong", "message", "deferred", "deferred-update", "update", "25-choices", "no-choices", "modal", "6000"],
)
def test_checker_accepts_good_responses(body: dict[str, Any]) -> None:
    assert_valid_response(body)


_ROW: dict[str, Any] = {"type": 1, "components": [{"type": 2, "style": 2, "custom_id": "x", "label": "x"}]}


@requires_shared
@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (_message(content="x" * 2001), "2000"),
        (_choices(26), "25"),
        ({"type": 4, "data": {"content": "hi"}}, "allowed_mentions"),
        ({"type": 7, "data": {"content": "hi"}}, "allowed_mentions"),
        (_message(embeds=[{"description": "x" * 4096}, {"description": "y" * 1905}]), "6000"),
        (_message(embeds=[{"title": "t", "fields": [{"name": "n" * 200, "value": "v" * 1024}] * 5}] * 2), "6000"),
        (_message(embeds=[{"fields": [{"name": "n", "value": "v"}] * 26}]), "25"),
        (_message(embeds=[{"title": "t"}] * 11), "10"),
        (
            _message(
                components=[{**_ROW, "components": [{**_ROW["components"][0], "custom_id": f"b{n}"}]} for n in range(6)]
            ),
            "5",
        ),
        (_message(components=[{"type": 1, "components": [{"type": 2, "style": 1, "label": "no id"}]}]), "custom_id"),
        (
            _message(
                components=[
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "custom_id": "a", "url": "https://x.y", "label": "a"}],
                    }
                ]
            ),
            "url",
        ),
        (
            _message(components=[{"type": 1, "components": [{"type": 2, "style": 5, "custom_id": "a", "label": "a"}]}]),
            "url",
        ),
        (_message(components=[{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c" * 101}]}]), "100"),
        (
            _message(
                components=[{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "a", "label": "l" * 81}]}]
            ),
            "80",
        ),
        ({"type": 8, "data": {"choices": [{"name": "", "value": "1"}]}}, "name"),
        ({"type": 8, "data": {"choices": [{"name": "n" * 101, "value": "1"}]}}, "name"),
        ({"type": 9, "data": {"custom_id": "m", "title": "t" * 46, "components": [_ROW]}}, "45"),
        ({"type": 2}, "callback type"),
    ],
    ids=[
        "content-2001",
        "26-choices",
        "no-allowed-mentions",
        "update-no-allowed-mentions",
        "embeds-6001",
        "embed-fields-total",
        "26-fields",
        "11-embeds",
        "6-rows",
        "button-without-custom-id",
        "button-url-and-custom-id",
        "link-with-custom-id",
        "custom-id-101",
        "label-81",
        "empty-choice-name",
        "long-choice-name",
        "modal-title-46",
        "unknown-type",
    ],
)
def test_checker_rejects_bad_responses(body: dict[str, Any], complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        assert_valid_response(body)


def _mutated(change: Any) -> list[dict[str, Any]]:
    commands = command_definitions()
    change(_by_name_in(commands))
    return commands


def _by_name_in(commands: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {command["name"]: command for command in commands}


@requires_shared
@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda c: c["bet"].update(name="Bet"), "lowercase"),
        (lambda c: c["bet"].update(name="place bet"), "characters"),
        (lambda c: c["bet"].update(description=""), "description"),
        (lambda c: c["bet"].update(description="d" * 101), "description"),
        (lambda c: c["bet"].update(contexts=[0, 1]), "contexts"),
        (lambda c: c["admin"].update(default_member_permissions=32), "string"),
        (lambda c: c["admin"].update(default_member_permissions="Manage Server"), "string"),
        (lambda c: c["sell"]["options"].reverse(), "required"),
        (lambda c: c["bet"]["options"][0].update(choices=[{"name": "a", "value": "a"}]), "autocomplete"),
        (lambda c: c["give"].update(options=c["give"]["options"] * 13), "25"),
        (lambda c: c["sell"]["options"][2].update(type=99), "ApplicationCommandUpdateRequest"),
        (lambda c: c["daily"].update(name="bet"), "duplicate"),
    ],
    ids=[
        "uppercase",
        "space",
        "empty-description",
        "long-description",
        "dm-context",
        "int-permissions",
        "text-permissions",
        "required-after-optional",
        "choices-and-autocomplete",
        "26-options",
        "unknown-option-type",
        "duplicate-command",
    ],
)
def test_definition_checker_rejects_bad_definitions(change: Any, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        assert_valid_command_definitions(_mutated(change))
