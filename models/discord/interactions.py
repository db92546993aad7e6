"""What Discord sends: typed views of interaction payloads.

Every model ignores fields it does not know, so payloads keep parsing when Discord adds fields.
The interaction token is kept out of reprs so it cannot leak through a log line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from models.discord.enums import Permissions

TOKEN_LIFETIME = timedelta(minutes=15)
"""How long an interaction's token lets the app read, edit and follow up its reply."""

MAX_SNOWFLAKE = 2**63 - 1  # ids are 64-bit; Hunch stores them as BIGINT, and Discord's fit for centuries yet


def is_snowflake(value: object) -> bool:
    """A Discord id: a string of ASCII digits for a number up to `MAX_SNOWFLAKE`."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= 19
        and value.isascii()
        and value.isdigit()
        and int(value) <= MAX_SNOWFLAKE
    )


def _snowflake(value: str) -> str:
    if not is_snowflake(value):
        raise ValueError("not a Discord id")
    return value


Snowflake = Annotated[str, AfterValidator(_snowflake)]
"""A Discord id, sent as a string of digits."""


class _Model(BaseModel):
    # Strict: a field of another JSON type (`"type": "1"`) cannot be what Discord sent, so it is not coerced.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class User(_Model):
    id: Snowflake
    username: str = ""
    global_name: str | None = None
    bot: bool = False

    @property
    def display_name(self) -> str:
        return self.global_name or self.username or self.id


class Member(_Model):
    user: User | None = None
    nick: str | None = None
    roles: list[Snowflake] = Field(default_factory=list)
    permissions: str = "0"


class ResolvedMember(_Model):
    nick: str | None = None
    roles: list[Snowflake] = Field(default_factory=list)
    permissions: str | None = None


class Resolved(_Model):
    users: dict[Snowflake, User] = Field(default_factory=dict)
    members: dict[Snowflake, ResolvedMember] = Field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = Field(default_factory=dict)


class CommandOption(_Model):
    name: str
    type: int | None = None  # the oldest payloads (2020) send options without a type
    # Whatever was sent: the handlers read each option as the type its command declares, and a value of
    # another type gets a reply saying so (a payload with a wrong option is still an interaction).
    value: Any = None
    options: list[CommandOption] | None = None
    focused: bool = False


class CommandData(_Model):
    id: Snowflake | None = None
    name: str
    type: int = 1
    options: list[CommandOption] = Field(default_factory=list)
    resolved: Resolved | None = None
    target_id: Snowflake | None = None


class ComponentData(_Model):
    custom_id: str
    component_type: int = 2
    values: list[str] = Field(default_factory=list)


class ModalData(_Model):
    custom_id: str
    components: list[dict[str, Any]] = Field(default_factory=list)

    def values(self) -> dict[str, str]:
        """Text input values by custom_id, through action rows (type 1) and labels (type 18); anything that is
        not a text input (or a select's first value) is passed over."""
        found: dict[str, str] = {}
        pending: list[Any] = [self.components]
        while pending:
            node = pending.pop()
            if isinstance(node, list):
                pending.extend(reversed(node))
            elif isinstance(node, dict):
                custom_id, value, values = node.get("custom_id"), node.get("value"), node.get("values")
                if isinstance(custom_id, str) and isinstance(value, str):
                    found.setdefault(custom_id, value)
                elif isinstance(custom_id, str) and isinstance(values, list) and values:
                    found.setdefault(custom_id, str(values[0]))
                pending.extend(node.get(key) for key in ("component", "components"))
        return found


class Interaction(_Model):
    id: Snowflake
    type: int
    application_id: Snowflake | None = None
    data: dict[str, Any] | None = None
    guild_id: Snowflake | None = None
    channel_id: Snowflake | None = None
    member: Member | None = None
    user: User | None = None
    token: str = Field(default="", repr=False)
    version: int = 1
    locale: str | None = None
    message: dict[str, Any] | None = None

    # -- typed access to `data` by interaction type (pydantic's ValidationError when it has another shape) ----
    def command(self) -> CommandData:
        return CommandData.model_validate(self.data or {})

    def component(self) -> ComponentData:
        return ComponentData.model_validate(self.data or {})

    def modal(self) -> ModalData:
        return ModalData.model_validate(self.data or {})

    # -- who is asking ---------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        if self.member is not None and self.member.user is not None:
            return self.member.user
        if self.user is not None:
            return self.user
        return _NOBODY

    @property
    def permissions(self) -> Permissions:
        try:
            return Permissions(int(self.member.permissions)) if self.member else Permissions(0)
        except ValueError:
            return Permissions(0)

    @property
    def is_manager(self) -> bool:
        """Manage Server or Administrator: may manage Hunch in this server."""
        return bool(self.permissions & (Permissions.ADMINISTRATOR | Permissions.MANAGE_GUILD))

    @property
    def role_ids(self) -> list[str]:
        return list(self.member.roles) if self.member else []


_NOBODY = User(id="0", username="unknown")
