"""Domain errors as members read them in Discord, and the interaction that cannot be one."""

from __future__ import annotations

from app.domain.errors import HunchError, RateLimited, RoleRequired


def describe(error: HunchError) -> str:
    if isinstance(error, RateLimited):
        return f"{error.message} Try again <t:{int(error.retry_at.timestamp()) + 1}:R>."
    if isinstance(error, RoleRequired):
        return f"Only members with the <@&{error.role_id}> role can {error.action}."
    return error.message


class MalformedInteraction(Exception):
    """A signed interaction whose shape cannot be what Discord sends (answered with a 400)."""
