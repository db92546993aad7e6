"""A server's settings, changed by its managers and audit-logged."""

from __future__ import annotations

from app.domain.actor import Actor, require_manager
from app.domain.audit import AuditAction
from app.domain.events import SettingsChanged
from app.domain.guild import ConfigChange
from app.services.ports import UnitOfWork
from app.services.results import GuildConfig, guild_config


async def get_config(uow: UnitOfWork, actor: Actor) -> GuildConfig:
    return guild_config(await uow.guilds.get(actor.guild_id))


async def update_config(uow: UnitOfWork, actor: Actor, change: ConfigChange) -> GuildConfig:
    require_manager(actor)
    values = change.changes()
    await uow.guilds.get(actor.guild_id)
    if values:
        await uow.guilds.update(actor.guild_id, values)
        uow.ledger.audit(actor, AuditAction.CONFIG, **values)
        uow.events.record(actor, SettingsChanged(actor.guild_id, changes=values))
        await uow.flush()
    return guild_config(await uow.guilds.get(actor.guild_id))
