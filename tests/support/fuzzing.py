"""Hypothesis strategies for hostile interactions: valid ones built from the command definitions (every
command and option type, every button `custom_id`, every modal), then mutated (wrong types, missing and
extra keys, huge and negative numbers, unicode and control characters, deep nesting)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from app.discord.custom_ids import Action
from handlers.definitions import COMMANDS
from models.discord.enums import ApplicationCommandOptionType as OptionType
from tests.support.discord_payloads import (
    OPTIONS,
    User,
    autocomplete,
    button_click,
    modal_submit,
    slash_command,
)

Json = dict[str, Any]

MEMBERS = [
    User("410212090289192960", "alice", "Alice"),
    User("506759329068613643", "bob", "Bob"),
    User("612345678901234567", "carol", "Carol", roles=("1336784655155986432",)),
    User("700000000000000001", "boss", "The Boss", permissions="8"),
    User("700000000000000002", "mod", "Moderator", permissions="32"),
]
BOT = User("1100000000000000000", "hunch", bot=True)
GROUPS = {OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP}
GROUP_PATHS = {c.name for c in COMMANDS if any(o.type in GROUPS for o in c.options)}
LEAVES = {path: options for path, options in OPTIONS.items() if path not in GROUP_PATHS}
"""Every command path a member can run ("market create", "balance", ...) with its options."""

words = st.sampled_from(
    [
        "",
        "Yes",
        "no",
        "Red",
        "all",
        "ALL",
        "1",
        "#1",
        "2",
        "#3 · Will it?",
        "1k",
        "2.5k",
        "1,000",
        "0",
        "-5",
        "10000000000000",
        "3d",
        "90m",
        "1w",
        "Red 70, Blue 30",
        "Yes 50, No 50",
        "Red, Green, Blue",
        "Will it rain?",
        "@everyone",
        "<@&1336784655155986432>",
        "**bold**",
        "🎲",
        "\u200b",
        "ｙｅｓ",
    ]
)
hostile_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=()), max_size=120) | st.text(
    alphabet=st.sampled_from("\x00\x07\n\t\u202e\u200d\ufeff#·,:%0123456789kKmM. "), max_size=40
)
texts = words | hostile_text
numbers = st.integers(-(10**20), 10**20) | st.sampled_from([0, 1, 5, 100, 999, 10**6, 10**12, 10**12 + 1, 2**63])
snowflakes = st.sampled_from([m.id for m in MEMBERS] + [BOT.id, "1", "0", "99999999999999999999"])


# What members most often type in each option, so that many cases get past the first check and change state.
LIKELY: dict[str, st.SearchStrategy[Any]] = {
    "market": st.sampled_from(["1", "2", "#1", "2", "3", "rain", "#2 · Which colour?"]),
    "outcome": st.sampled_from(["Yes", "No", "Red", "green", "BLUE", "Maybe"]),
    "question": st.sampled_from(["Will it rain?", "Which colour wins?", "@everyone wins?"]),
    "outcomes": st.sampled_from(["Yes, No", "Red, Green, Blue", "A, B, C, D, E, F, G, H, I, J", "A, a"]),
    "amount": st.integers(1, 300),
    "shares": st.sampled_from([0.5, 1, 2.25, 1e-7, 10]),
    "weights": st.sampled_from(["Yes 60, No 40", "Red 50, Green 30, Blue 20", "Red 100"]),
    "liquidity": st.sampled_from([10, 500, 1_000_000]),
    "closes_in": st.sampled_from(["1h", "2d", "0m"]),
}


def option_value(kind: OptionType | int, name: str = "") -> st.SearchStrategy[Any]:
    if name in LIKELY:
        return LIKELY[name] | option_value(kind)
    if kind == OptionType.STRING:
        return texts
    if kind == OptionType.INTEGER:
        return numbers
    if kind == OptionType.NUMBER:
        return st.floats(allow_nan=False, allow_infinity=False) | numbers
    if kind == OptionType.BOOLEAN:
        return st.booleans()
    if kind == OptionType.USER:
        return st.sampled_from([*MEMBERS, BOT])
    return snowflakes


@st.composite
def commands(draw: st.DrawFn) -> Json:
    path = draw(st.sampled_from(sorted(LEAVES)))
    declared = LEAVES[path]
    values = {}
    for name, option in declared.items():
        if option.required or draw(st.booleans()):
            values[name] = draw(option_value(option.type, name))
    user = draw(st.sampled_from(MEMBERS))
    if declared and draw(st.integers(0, 4)) == 0:
        focused = draw(st.sampled_from(sorted(declared)))
        values[focused] = draw(texts)
        return autocomplete(user, path, focused, values)
    return slash_command(user, path, values)


custom_ids = st.builds(
    lambda action, market, outcome, extra: ":".join(
        str(part) for part in (action, market, outcome, extra) if part is not None
    ),
    st.sampled_from([a.value for a in Action] + ["nonsense", ""]),
    st.integers(0, 4) | st.sampled_from(["x", "-1", "99999999999", "１"]),
    st.none() | st.integers(0, 11),
    st.none() | st.sampled_from(["", "1", "zz"]),
)


@st.composite
def clicks(draw: st.DrawFn) -> Json:
    return button_click(draw(st.sampled_from(MEMBERS)), draw(custom_ids))


@st.composite
def modals(draw: st.DrawFn) -> Json:
    custom_id = draw(
        st.builds(
            lambda a, n, o: f"{a}:{n}:{o}",
            st.sampled_from(["buymodal", "sellmodal"]),
            st.integers(0, 3),
            st.integers(0, 3),
        )
        | custom_ids
    )
    field = draw(st.sampled_from(["amount", "shares", "other"]))
    return modal_submit(draw(st.sampled_from(MEMBERS)), custom_id, {field: draw(texts)}, label=draw(st.booleans()))


valid_interactions = st.one_of(commands(), commands(), clicks(), modals())

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | numbers | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _parent(body: Json, path: tuple[Any, ...]) -> Any:
    node: Any = body
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Json] = valid_interactions) -> Json:
    """A valid interaction, then up to three mutations of its JSON tree (some keep it valid)."""
    body = copy.deepcopy(draw(base))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        path = draw(st.sampled_from([p for p in _paths(body) if p]))
        parent = _parent(body, path)
        how = draw(st.sampled_from(["replace", "delete", "extra", "nest", "huge"]))
        if how == "replace":
            parent[path[-1]] = draw(json_values)
        elif how == "delete":
            del parent[path[-1]]
        elif how == "extra" and isinstance(parent, dict):
            parent[draw(texts)] = draw(json_values)
        elif how == "nest":
            deep: Any = parent[path[-1]]
            for _ in range(draw(st.sampled_from([2, 50, 400]))):
                deep = [deep]
            parent[path[-1]] = deep
        elif how == "huge":
            parent[path[-1]] = draw(st.sampled_from([10**30, -(10**30), 1e308, "9" * 5000, "x" * 20000]))
        if not isinstance(body, dict) or not body:
            break
    return body
