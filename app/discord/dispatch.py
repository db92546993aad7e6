"""The single error boundary between Discord and the handlers.

Domain errors become a friendly ephemeral reply; anything unexpected becomes an ephemeral "something went
wrong" carrying a short error id that is logged with the traceback. Discord never sees a 5xx.
"""

from __future__ import annotations

import logging
import secrets
import time

from app import telemetry
from app.discord import responses
from app.discord.custom_ids import action_of
from app.discord.errors import describe
from app.discord.router import Context, Router
from app.domain.errors import HunchError, OutcomeUnknown, RateLimited, Unavailable
from app.logging import log_fields
from app.services.use_cases import UseCases, changes_applied
from models.discord.enums import InteractionType
from models.discord.interactions import Interaction
from models.discord.messages import InteractionResponse

logger = logging.getLogger("hunch.interactions")

_TYPE_NAMES = {t.value: t.name.lower() for t in InteractionType}


def _counted_as(error: HunchError) -> str:
    """A domain error as hunch_interactions_total counts it: the member's to act on, unless it is a failure of
    ours (the database gone), which is an `error`: the SLO's bad event."""
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, Unavailable | OutcomeUnknown):
        return "error"
    return "user_error"


def _command_label(ctx: Context) -> str:
    """The command path, or a component's or form's action: bounded by the routes, never an id."""
    if ctx.command is not None:
        return ctx.path
    return action_of(ctx.path) if ctx.path else "other"


def error_reply(interaction: Interaction, message: str) -> InteractionResponse:
    if interaction.type == InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
        return responses.autocomplete([])
    return responses.ephemeral(message)


def unexpected_error(error_id: str, *, changed: bool) -> str:
    """What a member is told of a failure we did not foresee: only what is known."""
    if changed:
        return f"Something went wrong on our side after your request went through. (error id `{error_id}`)"
    return f"Something went wrong on our side. Nothing was changed. (error id `{error_id}`)"


class Dispatcher:
    """Routes each interaction to its handler and answers it, whatever happens."""

    def __init__(self, router: Router, use_cases: UseCases) -> None:
        self.router = router
        self.use_cases = use_cases

    async def __call__(self, interaction: Interaction) -> InteractionResponse:
        """The reply; `MalformedInteraction` when the interaction's data cannot be what Discord sends."""
        started = telemetry.started_at.get() or time.perf_counter()
        handler, ctx = self.router.resolve(interaction, self.use_cases)
        outcome = counted = "ok"
        error_id = None
        applied = changes_applied.set(False)
        kind = telemetry.INTERACTION_TYPES.get(interaction.type, "other")
        command = _command_label(ctx) if handler is not None else "other"
        try:
            with telemetry.span("interaction", type=kind, command=command):
                if handler is None:
                    outcome, counted = "unknown", "user_error"
                    response = error_reply(interaction, "Sorry, I don't know that command. It may have been removed.")
                else:
                    response = await handler(ctx)
        except HunchError as exc:
            outcome, counted = exc.code, _counted_as(exc)
            response = error_reply(interaction, describe(exc))
        except Exception:
            outcome = counted = "error"
            error_id = secrets.token_hex(4)
            logger.exception("unhandled error %s", error_id, extra={"fields": {"error_id": error_id}})
            response = error_reply(interaction, unexpected_error(error_id, changed=changes_applied.get()))
        finally:
            changes_applied.reset(applied)
        telemetry.count(telemetry.INTERACTIONS, type=kind, command=command, outcome=counted)
        telemetry.observe(telemetry.INTERACTION_DURATION, time.perf_counter() - started, type=kind, command=command)
        log_fields(
            logger,
            logging.INFO,
            "interaction",
            interaction_id=interaction.id,
            type=_TYPE_NAMES.get(interaction.type, str(interaction.type)),
            path=ctx.path or None,
            guild_id=interaction.guild_id,
            user_id=interaction.actor.id,
            outcome=outcome,
            error_id=error_id,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response
