"""Discord-shaped interaction payloads, and a client that signs them and posts them to the real ASGI app.

The envelope copies what Discord sent in `../shared/discord/payloads/02_slash_command_guild_signed_2025.json`
(app_permissions, application_id, channel, context 0, guild, member with string permissions, token, version,
locale, entitlements, authorizing_integration_owners); every request gets a fresh snowflake id.

Option types come from the command definitions (`handlers.definitions.COMMANDS`), so a payload carries the same
types Discord would send for that option: `/bet amount` is an INTEGER, `/sell shares` a NUMBER, `user` a USER
with its `resolved` entry.

`DiscordClient` posts each payload signed, asserts HTTP 200, and checks every reply: against Discord's OpenAPI
spec and documented limits (`assert_valid_response`) when `../shared/discord` is present, against the documented
limits alone when it is not; and in every case that a message reply cannot ping anyone.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

from handlers.command_schema import Option
from handlers.definitions import COMMANDS
from models.discord.enums import ApplicationCommandOptionType as OptionType
from tests.support import discord_schema
from tests.support.forms import Files, read_form
from tests.support.signing import Signer

if TYPE_CHECKING:
    from app.bootstrap import Hunch

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000
APPLICATION_ID = "1100000000000000000"  # what tests.conftest.make_settings configures
GUILD_ID = "1380488052169769110"
CHANNEL_ID = "1380488052169769113"
BOT_USER_ID = "1100000000000000000"

# `member.permissions` is a string bit set. A plain member's set (from a real payload) has neither
# Administrator (1 << 3) nor Manage Server (1 << 5).
PERM_MEMBER = "2222085186637376"
PERM_ADMINISTRATOR = str(1 << 3)  # "8"
PERM_MANAGE_GUILD = str(1 << 5)  # "32"
EPHEMERAL = 1 << 6

# Interaction types (received) and callback types (sent).
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
CHANNEL_MESSAGE, DEFERRED, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT, MODAL = 4, 5, 7, 8, 9

_sequence = itertools.count(1)


def snowflake() -> str:
    """A fresh, time-ordered Discord snowflake (milliseconds since the Discord epoch, then a counter)."""
    ms = time.time_ns() // 1_000_000 - DISCORD_EPOCH_MS
    return str((ms << 22) | (next(_sequence) & 0x3FFFFF))


def _token(interaction_id: str) -> str:
    raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- who is clicking ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """A guild member as Discord describes them in `member` (and, for USER options, in `resolved`)."""

    id: str
    username: str
    global_name: str | None = None
    roles: tuple[str, ...] = ()
    permissions: str = PERM_MEMBER
    bot: bool = False
    nick: str | None = None

    def with_(self, **changes: Any) -> User:
        return replace(self, **changes)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def user_json(self) -> Json:
        body: Json = {
            "avatar": None,
            "avatar_decoration_data": None,
            "clan": None,
            "collectibles": None,
            "discriminator": "0",
            "global_name": self.global_name,
            "id": self.id,
            "primary_guild": None,
            "public_flags": 0,
            "username": self.username,
        }
        if self.bot:
            body["bot"] = True
        return body

    def member_json(self) -> Json:
        return {
            "avatar": None,
            "banner": None,
            "communication_disabled_until": None,
            "deaf": False,
            "flags": 0,
            "joined_at": "2025-06-06T10:06:39.888000+00:00",
            "mute": False,
            "nick": self.nick,
            "pending": False,
            "permissions": self.permissions,
            "premium_since": None,
            "roles": list(self.roles),
            "unusual_dm_activity_until": None,
            "user": self.user_json(),
        }

    def resolved_member_json(self) -> Json:
        """A member inside `data.resolved.members`: no `user` (that is in `resolved.users`)."""
        body = self.member_json()
        del body["user"]
        return body


def resolved_users(*users: User) -> Json:
    """`data.resolved` for USER options: the users and their guild member entries, keyed by id."""
    return {
        "users": {u.id: u.user_json() for u in users},
        "members": {u.id: u.resolved_member_json() for u in users if not u.bot},
    }


# --- option typing from the command definitions ---------------------------------------------------------------------


def _option_table() -> dict[str, dict[str, Option]]:
    table: dict[str, dict[str, Option]] = {}

    def walk(path: str, options: Iterable[Option]) -> None:
        leaves: dict[str, Option] = {}
        for opt in options:
            if opt.type in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
                walk(f"{path} {opt.name}", opt.options)
            else:
                leaves[opt.name] = opt
        table[path] = leaves

    for command in COMMANDS:
        walk(command.name, command.options)
    return table


OPTIONS = _option_table()


def option_type(path: str, name: str, value: Any) -> int:
    """The type Discord sends for option `name` of command `path` (guessed from `value` for unknown options)."""
    declared = OPTIONS.get(path, {}).get(name)
    if declared is not None:
        return int(declared.type)
    if isinstance(value, User):
        return int(OptionType.USER)
    if isinstance(value, bool):
        return int(OptionType.BOOLEAN)
    if isinstance(value, int):
        return int(OptionType.INTEGER)
    if isinstance(value, float | Decimal):
        return int(OptionType.NUMBER)
    return int(OptionType.STRING)


def option(name: str, value: Any, type_: int, *, focused: bool = False) -> Json:
    body: Json = {"name": name, "type": type_, "value": value}
    if focused:
        body["focused"] = True
    return body


def command_data(path: str, options: Mapping[str, Any] | None = None, *, focused: str | None = None) -> Json:
    """`data` for a slash command `path` ("market create"): subcommands nested as Discord nests them.

    `User` values become their id, with `resolved` users and members; `focused` marks the option being typed
    (autocomplete), whose value Discord always sends as the text typed so far.
    """
    parts = path.split()
    leaves: list[Json] = []
    users: list[User] = []
    for name, value in (options or {}).items():
        if value is None:
            continue
        kind = option_type(path, name, value)
        if isinstance(value, User):
            users.append(value)
            value = value.id
        if name == focused:
            leaves.append(option(name, str(value), kind, focused=True))
            continue
        if kind == OptionType.NUMBER and isinstance(value, Decimal):
            value = float(value)
        leaves.append(option(name, value, kind))
    nested = leaves
    for depth in range(len(parts) - 1, 0, -1):
        kind = OptionType.SUB_COMMAND if depth == len(parts) - 1 else OptionType.SUB_COMMAND_GROUP
        nested = [{"name": parts[depth], "type": int(kind), "options": nested}]
    data: Json = {"id": _command_id(parts[0]), "name": parts[0], "options": nested, "type": 1}
    if users:
        data["resolved"] = resolved_users(*users)
    return data


def _command_id(name: str) -> str:
    return str(1380515955146358000 + sum(name.encode()))


# --- whole interactions -------------------------------------------------------------------------------------------


def interaction(
    type_: int,
    data: Json | None,
    user: User,
    *,
    guild_id: str | None = GUILD_ID,
    channel_id: str = CHANNEL_ID,
    interaction_id: str | None = None,
    message: Json | None = None,
) -> Json:
    """The envelope every interaction shares, as Discord sends it from a guild text channel."""
    interaction_id = interaction_id or snowflake()
    body: Json = {
        "app_permissions": "2248473465835073",
        "application_id": APPLICATION_ID,
        "attachment_size_limit": 10485760,
        "authorizing_integration_owners": {"0": guild_id} if guild_id else {"1": user.id},
        "channel": {
            "flags": 0,
            "id": channel_id,
            "last_message_id": snowflake(),
            "name": "markets",
            "nsfw": False,
            "permissions": "2251799813685247",
            "position": 0,
            "rate_limit_per_user": 0,
            "theme_color": None,
            "topic": None,
            "type": 0,
        },
        "channel_id": channel_id,
        "context": 0 if guild_id else 1,
        "entitlement_sku_ids": [],
        "entitlements": [],
        "id": interaction_id,
        "locale": "en-US",
        "token": _token(interaction_id),
        "type": type_,
        "version": 1,
    }
    if data is not None:
        body["data"] = data
    if guild_id:
        body["channel"]["guild_id"] = guild_id
        body["guild"] = {"features": [], "id": guild_id, "locale": "en-US"}
        body["guild_id"] = guild_id
        body["guild_locale"] = "en-US"
        body["member"] = user.member_json()
    else:  # a DM: `user` instead of `member`
        body["user"] = user.user_json()
    if message is not None:
        body["message"] = message
    return body


def slash_command(user: User, path: str, options: Mapping[str, Any] | None = None, **kwargs: Any) -> Json:
    return interaction(APPLICATION_COMMAND, command_data(path, options), user, **kwargs)


def autocomplete(user: User, path: str, focused: str, options: Mapping[str, Any] | None = None, **kwargs: Any) -> Json:
    values = dict(options or {})
    values.setdefault(focused, "")
    return interaction(AUTOCOMPLETE, command_data(path, values, focused=focused), user, **kwargs)


def message_json(reply_data: Json | None = None, *, flags: int = 0) -> Json:
    """The message a component sits on, as Discord echoes it back in a component interaction."""
    data = reply_data or {}
    return {
        "application_id": APPLICATION_ID,
        "attachments": [],
        "author": {
            "avatar": None,
            "bot": True,
            "discriminator": "0000",
            "global_name": None,
            "id": BOT_USER_ID,
            "public_flags": 0,
            "username": "Hunch",
        },
        "channel_id": CHANNEL_ID,
        "components": data.get("components", []),
        "content": data.get("content", ""),
        "edited_timestamp": None,
        "embeds": data.get("embeds", []),
        "flags": data.get("flags", flags),
        "id": snowflake(),
        "mention_everyone": False,
        "mention_roles": [],
        "mentions": [],
        "pinned": False,
        "timestamp": "2025-06-07T10:00:00.000000+00:00",
        "tts": False,
        "type": 20,
    }


def button_click(user: User, custom_id: str, *, message: Json | None = None, **kwargs: Any) -> Json:
    data = {"component_type": 2, "custom_id": custom_id, "id": 1}
    return interaction(MESSAGE_COMPONENT, data, user, message=message or message_json(), **kwargs)


def modal_submit(
    user: User,
    custom_id: str,
    values: Mapping[str, str],
    *,
    label: bool = False,
    message: Json | None = None,
    **kwargs: Any,
) -> Json:
    """A submitted modal: each text input in a legacy action row (type 1), or in a Label (type 18)."""
    components: list[Json] = []
    ids = itertools.count(1)
    for input_id, value in values.items():
        wrapper_id, input_number = next(ids), next(ids)
        text_input = {"type": 4, "id": input_number, "custom_id": input_id, "value": value}
        if label:
            components.append({"type": 18, "id": wrapper_id, "component": text_input})
        else:
            components.append({"type": 1, "id": wrapper_id, "components": [text_input]})
    data = {"custom_id": custom_id, "components": components}
    return interaction(MODAL_SUBMIT, data, user, message=message, **kwargs)


# --- what comes back -------------------------------------------------------------------------------------------------

_BALANCE = re.compile(r"balance: \*\*(-?[0-9,]+) ", re.IGNORECASE)
_SHARES = re.compile(r"([0-9,]+\.[0-9]{2}) shares")


@dataclass
class Reply:
    """One interaction response, with accessors for what tests look at."""

    body: Json
    request: Json = dataclasses.field(default_factory=dict)
    files: Files = dataclasses.field(default_factory=dict)  # sent as multipart/form-data: "files[n]" -> file

    @property
    def type(self) -> int:
        return int(self.body["type"])

    @property
    def data(self) -> Json:
        return self.body.get("data") or {}

    @property
    def content(self) -> str:
        return self.data.get("content") or ""

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def embeds(self) -> list[Json]:
        return list(self.data.get("embeds") or [])

    @property
    def embed(self) -> Json:
        assert self.embeds, f"reply has no embed: {self.body}"
        return self.embeds[0]

    @property
    def text(self) -> str:
        """Everything a member reads: content, then each embed's title, description, fields and footer."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            for f in embed.get("fields") or []:
                parts += [f.get("name", ""), f.get("value", "")]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    def field(self, name: str) -> str:
        for f in self.embed.get("fields") or []:
            if f.get("name") == name:
                return str(f.get("value"))
        raise AssertionError(f"no embed field {name!r} in {self.embed}")

    @property
    def components(self) -> list[Json]:
        return list(self.data.get("components") or [])

    def _walk(self, nodes: list[Json]) -> list[Json]:
        found = []
        for node in nodes:
            found.append(node)
            found += self._walk(list(node.get("components") or []))
            if isinstance(node.get("component"), dict):
                found += self._walk([node["component"]])
        return found

    @property
    def buttons(self) -> list[Json]:
        return [c for c in self._walk(self.components) if c.get("type") == 2]

    def button(self, label: str) -> Json:
        for b in self.buttons:
            if b.get("label") == label:
                return b
        raise AssertionError(f"no button labelled {label!r}; have {[b.get('label') for b in self.buttons]}")

    @property
    def text_inputs(self) -> list[Json]:
        return [c for c in self._walk(self.components) if c.get("type") == 4]

    @property
    def choices(self) -> list[Json]:
        assert self.type == AUTOCOMPLETE_RESULT, f"not an autocomplete result: {self.body}"
        return list(self.data["choices"])

    @property
    def balance(self) -> int:
        """The balance a reply reports (`… balance: **1,234 points**`)."""
        match = _BALANCE.search(self.text)
        assert match, f"no balance in {self.text!r}"
        return int(match.group(1).replace(",", ""))

    def shares(self) -> list[Decimal]:
        """Every `… shares` figure in the reply, in order."""
        return [Decimal(s.replace(",", "")) for s in _SHARES.findall(self.text)]

    def __repr__(self) -> str:
        return f"Reply({self.body!r})"


_checked: set[str] = set()  # replies already validated: the same body always gets the same verdict


def check_reply(body: Json) -> None:
    """What every reply must satisfy. The OpenAPI check runs only when the shared reference material is present;
    the documented limits and the no-ping rule always run."""
    assert_cannot_ping(body)
    key = json.dumps(body, sort_keys=True)
    if key in _checked:
        return
    if discord_schema.OPENAPI.is_file():
        discord_schema.assert_valid_response(body)
    else:
        kind = body.get("type")
        data = body.get("data")
        problems: list[str] = []
        if kind in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
            assert isinstance(data, dict), f"type {kind} needs a data object: {body}"
            problems += discord_schema.message_problems(data)
        elif kind == AUTOCOMPLETE_RESULT:
            problems += discord_schema.autocomplete_problems(data)
        elif kind == MODAL:
            problems += discord_schema.modal_problems(data)
        else:
            assert kind in (1, DEFERRED), f"unexpected callback type {kind!r}"
        assert not problems, f"reply breaks Discord's limits: {problems}"
    if len(_checked) < 10_000:
        _checked.add(key)


def assert_cannot_ping(body: Json) -> None:
    """A message reply names exactly who it may ping: nobody, or (where a feature pings) members its content
    mentions; never a role, @everyone or the replied-to user."""
    if body.get("type") not in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
        return
    assert_pings_only_named(body["data"])


def assert_pings_only_named(data: Json) -> None:
    mentions = data.get("allowed_mentions")
    assert isinstance(mentions, dict), f"message without allowed_mentions: {data}"
    assert mentions.get("parse", []) == [], f"message may ping: {mentions}"
    assert not mentions.get("roles") and not mentions.get("replied_user"), f"message may ping: {mentions}"
    named = set(re.findall(r"<@!?([0-9]+)>", data.get("content") or ""))
    assert set(mentions.get("users", [])) <= named, f"pings {mentions} but its content names {sorted(named)}"


# --- the client ------------------------------------------------------------------------------------------------


class DiscordClient:
    """Plays Discord: signs each interaction, posts it to `/interactions`, and checks the reply."""

    def __init__(self, http: httpx.AsyncClient, signer: Signer, hunch: Hunch | None = None) -> None:
        self.http = http
        self.signer = signer
        self.hunch = hunch
        self.sent: list[Json] = []

    async def post_body(self, body: bytes, headers: Mapping[str, str] | None = None) -> httpx.Response:
        return await self.http.post("/interactions", content=body, headers=dict(headers or self.signer.headers(body)))

    async def send_body(self, body: bytes) -> Reply:
        """Post exactly these (signed) bytes, as a redelivery would."""
        response = await self.post_body(body)
        assert response.status_code == 200, f"HTTP {response.status_code}: {response.text}"
        content_type = response.headers["content-type"]
        assert content_type.startswith(("application/json", "multipart/form-data; boundary=")), content_type
        reply, files = read_form(content_type, response.content)
        assert isinstance(reply, dict)
        check_reply(reply)
        return Reply(reply, files=files)

    async def send(self, payload: Json) -> Reply:
        self.sent.append(payload)
        reply = await self.send_body(self.signer.body(payload))
        reply.request = payload
        return reply

    # -- one method per kind of interaction ------------------------------------------------------------------------

    async def command(self, user: User, path: str, /, **options: Any) -> Reply:
        reply = await self.send(slash_command(user, path, options))
        assert reply.type == CHANNEL_MESSAGE, f"/{path} answered with type {reply.type}"
        return reply

    async def autocomplete(self, user: User, path: str, focused: str, /, **options: Any) -> Reply:
        reply = await self.send(autocomplete(user, path, focused, options))
        assert reply.type == AUTOCOMPLETE_RESULT, f"autocomplete answered with type {reply.type}"
        return reply

    async def click(self, user: User, custom_id: str, /, *, on: Reply | None = None) -> Reply:
        """Click the button `custom_id` on the message `on` (a previous reply)."""
        message = message_json(on.data if on is not None else None)
        if on is not None:
            assert custom_id in {b.get("custom_id") for b in on.buttons}, f"{custom_id!r} is not on that message"
        return await self.send(button_click(user, custom_id, message=message))

    async def submit(self, user: User, modal: Reply, values: Mapping[str, str], *, label: bool = False) -> Reply:
        """Fill in and submit the modal a previous reply opened."""
        assert modal.type == MODAL, f"not a modal: {modal.body}"
        known = {c["custom_id"] for c in modal.text_inputs}
        assert set(values) <= known, f"modal has inputs {known}, not {set(values)}"
        return await self.send(modal_submit(user, modal.data["custom_id"], values, label=label))

    # -- looking behind the app (read-only) ------------------------------------------------------------------------

    async def _read(self, work: Any) -> Any:
        from app.persistence.unit_of_work import run_transaction

        assert self.hunch is not None, "this client was built without the app's dependencies"
        return await run_transaction(self.hunch.database, work)

    async def trade_count(self) -> int:
        """Rows in the trades table."""
        import sqlalchemy as sa

        from models.tables import Trade

        async def work(uow: Any) -> int:
            return int(await uow.conn.scalar(sa.select(sa.func.count()).select_from(Trade.__table__)) or 0)  # type: ignore[attr-defined]

        return int(await self._read(work))

    async def ledger_problems(self) -> list[str]:
        """`verify_ledger`: every broken invariant of the books (empty when they balance)."""
        from app.services.verify import verify_ledger

        return list(await self._read(verify_ledger))

    # -- conveniences -----------------------------------------------------------------------------------------------

    async def balance(self, user: User) -> int:
        reply = await self.command(user, "balance")
        assert reply.ephemeral
        return reply.balance

    async def create_market(self, user: User, question: str, outcomes: str | None = None, **options: Any) -> int:
        reply = await self.command(user, "market create", question=question, outcomes=outcomes, **options)
        assert not reply.ephemeral, f"market was not created: {reply.content}"
        return market_number(reply)

    async def buy(self, user: User, market: int, outcome_index: int, amount: str, *, label: bool = False) -> Reply:
        """Buy through the market's button and the amount modal, as a member would."""
        modal = await self.click(user, f"buy:{market}:{outcome_index}")
        assert modal.type == MODAL, f"Buy button answered {modal.body}"
        return await self.submit(user, modal, {modal.text_inputs[0]["custom_id"]: amount}, label=label)


def market_number(reply: Reply) -> int:
    match = re.match(r"#([0-9]+) · ", reply.embed["title"])
    assert match, f"not a market embed: {reply.embed}"
    return int(match.group(1))
