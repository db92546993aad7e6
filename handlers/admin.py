"""`/admin config` and `/admin grant`: server managers only, every change audit-logged."""

from __future__ import annotations

from typing import Any

from app.discord import responses
from app.discord.router import Context, Router
from app.domain import inputs
from app.services import admin, wallet
from app.services.common import require_admin
from app.services.views import GiftReceipt, GuildConfig
from handlers import format as fmt
from handlers import views
from handlers.common import actor, read, run
from handlers.wallet import _amount, _user_option

Json = dict[str, Any]


def _duration_text(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def config_embed(config: GuildConfig) -> Json:
    def role(value: int | None) -> str:
        return f"<@&{value}>" if value else "anyone"

    currency = config.currency_name
    rows = [
        ("Starting balance", fmt.points(config.starting_balance, currency)),
        ("Daily bonus", fmt.points(config.daily_bonus, currency)),
        ("Default liquidity", fmt.points(config.default_liquidity, currency)),
        ("Default duration", _duration_text(config.default_duration_seconds)),
        ("Max stake", fmt.points(config.max_stake, currency)),
        ("Currency", currency),
        ("Who can create markets", role(config.creator_role_id)),
        ("Resolvers", role(config.resolver_role_id) if config.resolver_role_id else "creators and managers"),
    ]
    return {
        "title": "Hunch settings",
        "fields": [{"name": name, "value": value, "inline": True} for name, value in rows],
        "color": views.COLOR_OPEN,
    }


def _int(ctx: Context, name: str) -> int | None:
    value = ctx.option(name)
    return int(value) if value is not None else None


async def config(ctx: Context) -> Json:
    who = actor(ctx)
    require_admin(who)
    duration = ctx.option("default_duration")
    change = admin.ConfigChange(
        starting_balance=_int(ctx, "starting_balance"),
        daily_bonus=_int(ctx, "daily_bonus"),
        default_liquidity=_int(ctx, "default_liquidity"),
        default_duration_seconds=int(inputs.parse_duration(str(duration)).total_seconds()) if duration else None,
        max_stake=_int(ctx, "max_stake"),
        currency_name=inputs.clean_text(str(ctx.option("currency")), max_length=20, field="currency")
        if ctx.option("currency")
        else None,
        creator_role_id=_int(ctx, "creator_role"),
        resolver_role_id=_int(ctx, "resolver_role"),
        clear_creator_role=bool(ctx.option("clear_creator_role")),
        clear_resolver_role=bool(ctx.option("clear_resolver_role")),
    )
    if not change.changes():
        current = await read(ctx, lambda uow: admin.get_config(uow, who))
        return responses.message(embeds=[config_embed(current)], ephemeral=True)
    updated = await run(ctx, "admin.config", GuildConfig, lambda uow: admin.update_config(uow, who, change))
    return responses.message("✅ Settings updated.", embeds=[config_embed(updated)], ephemeral=True)


async def grant(ctx: Context) -> Json:
    who = actor(ctx)
    require_admin(who)
    to_user = _user_option(ctx)
    if to_user is None:
        raise inputs.ValidationError("Pick a member to grant points to.")
    amount = _amount(ctx)
    reason = (
        inputs.clean_text(str(ctx.option("reason")), max_length=200, field="reason") if ctx.option("reason") else ""
    )
    receipt = await run(ctx, "admin.grant", GiftReceipt, lambda uow: wallet.grant(uow, who, to_user, amount, reason))
    return responses.ephemeral(
        f"✅ Granted **{fmt.points(receipt.amount, receipt.currency)}** to <@{receipt.to_user_id}>"
        + (f" ({receipt.reason})" if receipt.reason else "")
        + f". Their balance: **{fmt.points(receipt.recipient_balance, receipt.currency)}**."
    )


def register(router: Router) -> None:
    router.command("admin config")(config)
    router.command("admin grant")(grant)
