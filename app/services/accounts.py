"""Opening members' accounts: on a member's first touch, with the starting grant the house pays."""

from __future__ import annotations

from collections.abc import Mapping

from app.domain.actor import Actor
from app.domain.errors import NotFound
from app.domain.guild import GuildSettings
from app.domain.ledger import Transfer, TransferReason
from app.services.ports import UnitOfWork
from app.services.rows import MemberAccount


async def open_accounts(
    uow: UnitOfWork, guild: GuildSettings, members: Mapping[int, int | None], *, flush: bool = True
) -> None:
    """Open the accounts of those members (user id -> interaction id) who have none, each credited with the
    server's starting balance by the house (the grants sent at once, or with the commit when not `flush`)."""
    house, opened = await uow.accounts.open_members(guild.guild_id, sorted(members))
    if guild.starting_balance > 0:
        for user_id, account_id in opened.items():
            grant = Transfer(house, account_id, guild.starting_balance, TransferReason.STARTING_GRANT)
            uow.ledger.post(Actor(guild.guild_id, user_id, interaction_id=members[user_id]), [grant])
    if flush:
        await uow.flush()


async def member_account(uow: UnitOfWork, guild: GuildSettings, actor: Actor) -> MemberAccount:
    """The actor's account, opened on first touch."""
    return await account_of(uow, guild, actor.user_id, actor.interaction_id)


async def account_of(uow: UnitOfWork, guild: GuildSettings, user_id: int, interaction_id: int | None) -> MemberAccount:
    found = await uow.accounts.member(guild.guild_id, user_id)
    if found is None:
        await open_accounts(uow, guild, {user_id: interaction_id})
        found = await uow.accounts.member(guild.guild_id, user_id)
    if found is None:
        raise NotFound(f"member {user_id} has no account")  # the repository just opened it
    return found
