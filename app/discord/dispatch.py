"""The single error boundary between Discord and the handlers.

Domain errors become a friendly ephemeral reply; anything unexpected becomes an ephemeral "something went
wrong" carrying a short error id that is logged with the traceback. Discord never sees a 5xx.
"""

from __future__ import annotations

import logging
import secrets
import time

from app.discord import responses
from app.discord.errors import describe
from app.discord.router import Router
from app.domain.errors import HunchError
from app.logging import log_fields
from app.services.use_cases import UseCases, changes_applied
from models.discord.enums import InteractionType
from models.discord.interactions import Interaction
from models.discord.messages import InteractionResponse

logger = logging.getLogger("hunch.interactions")

_TYPE_NAMES = {t.value: t.name.lower() for t in InteractionType}


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
        started = time.perf_counter()
        handler, ctx = self.router.resolve(interaction, self.use_cases)
        outcome = "ok"
        error_id = None
        applied = changes_applied.set(False)
        try:
            if handler is None:
                outcome = "unknown"
                response = error_reply(interaction, "Sorry, I don't know that command. It may have been removed.")
            else:
                response = await handler(ctx)
        except HunchError as exc:
            outcome = exc.code
            response = error_reply(interaction, describe(exc))
        except Exception:
            outcome = "error"
            error_id = secrets.token_hex(4)
            logger.exception("unhandled error %s", error_id, extra={"fields": {"error_id": error_id}})
            response = error_reply(interaction, unexpected_error(error_id, changed=changes_applied.get()))
        finally:
            changes_applied.reset(applied)
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
