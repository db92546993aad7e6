"""What Discord sends: typed views of interaction payloads.

Every model ignores fields it does not know, so payloads keep parsing when Discord adds fields.
The interaction token is kept out of reprs so it cannot leak through a log line.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.discord.enums import Permissions


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class User(_Model):
    id: str
    username: str = ""
    global_name: str | None = None
    bot: bool = False

    @property
    def display_name(self) -> str:
        return self.global_name or self.username or self.id


class Member(_Model):
    user: User | None = None
    nick: str | None = None
    roles: list[str] = Field(default_factory=list)
    permissions: str = "0"


class ResolvedMember(_Model):
    nick: str | None = None
    roles: list[str] = Field(default_factory=list)
    permissions: str | None = None


class Resolved(_Model):
    users: dict[str, User] = Field(default_factory=dict)
    members: dict[str, ResolvedMember] = Field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = Field(default_factory=dict)


class CommandOption(_Model):
    name: str
    type: int | None = None  # the oldest payloads (2020) send options without a type
    value: str | int | float | bool | None = None
    options: list[CommandOption] | None = None
    focused: bool = False


class CommandData(_Model):
    id: str | None = None
    name: str
    type: int = 1
    options: list[CommandOption] = Field(default_factory=list)
    resolved: Resolved | None = None
    target_id: str | None = None


class ComponentData(_Model):
    custom_id: str
    component_type: int = 2
    values: list[str] = Field(default_factory=list)


class ModalData(_Model):
    custom_id: str
    components: list[dict[str, Any]] = Field(default_factory=list)

    def values(self) -> dict[str, str]:
        """Text input values by custom_id, through action rows (type 1) and labels (type 18)."""
        found: dict[str, str] = {}

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if "custom_id" in node and isinstance(node.get("value"), str):
                    found[node["custom_id"]] = node["value"]
                elif "custom_id" in node and isinstance(node.get("values"), list) and node["values"]:
                    found[node["custom_id"]] = str(node["values"][0])
                for key in ("components", "component"):
                    walk(node.get(key))
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.components)
        return found


class Interaction(_Model):
    id: str
    type: int
    application_id: str | None = None
    data: dict[str, Any] | None = None
    guild_id: str | None = None
    channel_id: str | None = None
    member: Member | None = None
    user: User | None = None
    token: str = Field(default="", repr=False)
    version: int = 1
    locale: str | None = None
    message: dict[str, Any] | None = None

    # -- typed access to `data` by interaction type ---------------------------------------------
    @property
    def command(self) -> CommandData:
        return CommandData.model_validate(self.data or {})

    @property
    def component(self) -> ComponentData:
        return ComponentData.model_validate(self.data or {})

    @property
    def modal(self) -> ModalData:
        return ModalData.model_validate(self.data or {})

    # -- who is asking ---------------------------------------------------------------------------
    @property
    def actor(self) -> User:
        if self.member is not None and self.member.user is not None:
            return self.member.user
        if self.user is not None:
            return self.user
        return User(id="0", username="unknown")

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
