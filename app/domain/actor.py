"""Who is acting: a member of a server, with what the server lets them do."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.errors import Forbidden

SYSTEM_USER_ID = 0
"""The actor of what Hunch does by itself (the scheduler closing a market), in audit rows and events."""


@dataclass(frozen=True)
class Actor:
    """The member behind a request.

    `is_manager` is true for members who may manage the server (Discord's Manage Server or Administrator);
    `interaction_id` identifies the request, so that a request delivered twice applies once.
    """

    guild_id: int
    user_id: int
    is_manager: bool = False
    role_ids: frozenset[int] = field(default_factory=frozenset)
    interaction_id: int | None = None
    channel_id: int | None = None  # where the request was made

    def has_role(self, role_id: int | None) -> bool:
        return role_id is not None and role_id in self.role_ids


def system_actor(guild_id: int) -> Actor:
    return Actor(guild_id=guild_id, user_id=SYSTEM_USER_ID, is_manager=True)


def require_manager(actor: Actor) -> None:
    if not actor.is_manager:
        raise Forbidden("Only members with Manage Server or Administrator can do that.")
