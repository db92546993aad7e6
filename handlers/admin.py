"""`/admin config` and `/admin grant`: server managers only, every change audit-logged."""

from __future__ import annotations

from app.discord import responses
from app.discord.router import Context, Router
from app.domain import inputs, limits
from app.domain.actor import require_manager
from app.domain.errors import ValidationError
from app.domain.guild import ConfigChange
from handlers import options
from handlers.render.admin import config_embed
from handlers.render.wallet import grant as grant_receipt
from models.discord.messages import InteractionResponse


async def config(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    require_manager(who)
    duration = options.string(ctx, "default_duration")
    window = options.string(ctx, "unresolve_window")
    refund_after = options.string(ctx, "auto_refund_after")
    change = ConfigChange(
        starting_balance=options.integer(ctx, "starting_balance"),
        daily_bonus=options.integer(ctx, "daily_bonus"),
        default_liquidity=options.integer(ctx, "default_liquidity"),
        default_duration_seconds=int(inputs.parse_duration(duration).total_seconds()) if duration else None,
        max_stake=options.integer(ctx, "max_stake"),
        currency_name=options.text(ctx, "currency", max_length=limits.CURRENCY_MAX, field="currency") or None,
        creator_role_id=options.snowflake(ctx, "creator_role", "role"),
        resolver_role_id=options.snowflake(ctx, "resolver_role", "role"),
        clear_creator_role=options.boolean(ctx, "clear_creator_role"),
        clear_resolver_role=options.boolean(ctx, "clear_resolver_role"),
        mention_winners=options.optional_boolean(ctx, "mention_winners"),
        announce_closing=options.optional_boolean(ctx, "announce_closing"),
        unresolve_window_seconds=inputs.parse_duration_or_off(window) if window else None,
        auto_refund_after_seconds=inputs.parse_duration_or_off(refund_after) if refund_after else None,
    )
    if not change.changes():
        current = await ctx.use_cases.config(who)
        return responses.message(embeds=[config_embed(current)], ephemeral=True)
    updated = await ctx.use_cases.update_config(who, change)
    return responses.message("✅ Settings updated.", embeds=[config_embed(updated)], ephemeral=True)


async def grant(ctx: Context) -> InteractionResponse:
    who = options.actor(ctx)
    require_manager(who)
    to_user = options.member(ctx)
    if to_user is None:
        raise ValidationError("Pick a member to grant points to.")
    amount = options.required_points(ctx.option("amount"))
    reason = options.text(ctx, "reason", max_length=limits.REASON_MAX, field="reason")
    return grant_receipt(await ctx.use_cases.grant(who, to_user, amount, reason))


def register(router: Router) -> None:
    router.command("admin config")(config)
    router.command("admin grant")(grant)
