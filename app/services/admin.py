"""Guild settings, changed by server managers and audit-logged."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from app.errors import ValidationError
from app.persistence.unit_of_work import UnitOfWork
from app.services.common import Actor, audit, get_guild, guilds, require_admin
from app.services.views import GuildConfig


@dataclass(frozen=True)
class ConfigChange:
    starting_balance: int | None = None
    daily_bonus: int | None = None
    default_liquidity: int | None = None
    default_duration_seconds: int | None = None
    max_stake: int | None = None
    currency_name: str | None = None
    creator_role_id: int | None = None
    resolver_role_id: int | None = None
    clear_creator_role: bool = False
    clear_resolver_role: bool = False

    def changes(self) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self).items() if v is not None and not k.startswith("clear_")}
        if self.clear_creator_role:
            values["creator_role_id"] = None
        if self.clear_resolver_role:
            values["resolver_role_id"] = None
        return values


_BOUNDS = {
    "starting_balance": (0, 10**9),
    "daily_bonus": (0, 10**9),
    "default_liquidity": (10, 1_000_000),
    "default_duration_seconds": (60, 365 * 86400),
    "max_stake": (1, 10**9),
}


def _config(row: sa.RowMapping) -> GuildConfig:
    return GuildConfig.model_validate({k: row[k] for k in GuildConfig.model_fields})


async def get_config(uow: UnitOfWork, actor: Actor) -> GuildConfig:
    return _config(await get_guild(uow, actor.guild_id))


async def update_config(uow: UnitOfWork, actor: Actor, change: ConfigChange) -> GuildConfig:
    require_admin(actor)
    values = change.changes()
    for name, (low, high) in _BOUNDS.items():
        value = values.get(name)
        if isinstance(value, int) and not low <= value <= high:
            raise ValidationError(f"{name.replace('_', ' ')} must be between {low:,} and {high:,}.")
    currency = values.get("currency_name")
    if isinstance(currency, str) and not currency.strip():
        raise ValidationError("The currency name can't be empty.")
    await get_guild(uow, actor.guild_id)
    if values:
        uow.stage(sa.update(guilds).where(guilds.c.id == actor.guild_id).values(**values))
        audit(uow, actor, "guild.config", **values)
        await uow.flush()
    return _config(await get_guild(uow, actor.guild_id))
