"""The HTTP endpoint Discord calls: `POST /interactions`, and `GET /healthz`, `GET /readyz`, `GET /metrics` for
operators.

The PING and signature path imports neither the ORM nor the database driver: the backend (everything
behind the endpoint) is connected on the first interaction that needs it and reused after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app import telemetry
from app.discord import multipart
from app.discord.errors import MalformedInteraction
from app.discord.multipart import to_json
from app.discord.signature import verify_request
from app.health import MEDIA_TYPE as HEALTH_MEDIA_TYPE
from app.health import Check, report
from app.logging import correlation_id, log_fields
from app.settings import Settings

if TYPE_CHECKING:
    from models.discord.interactions import Interaction
    from models.discord.messages import InteractionResponse

MAX_BODY_BYTES = 1024 * 1024
KNOWN_TYPES = frozenset({1, 2, 3, 4, 5})
logger = logging.getLogger("hunch.http")


class _BodyTooLarge(Exception):
    """The request body is over MAX_BODY_BYTES; nothing more of it is read."""


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _json(content: Any, status_code: int = 200) -> Response:
    return Response(to_json(content), status_code=status_code, media_type="application/json")


def _answer(response: InteractionResponse) -> Response:
    """The response as JSON, or, when it carries files, as multipart/form-data (Discord takes either)."""
    files = response.get("files")
    if not files:
        return _json(response)
    body, content_type = multipart.encode({k: v for k, v in response.items() if k != "files"}, files)
    return Response(body, media_type=content_type)


def _problem(status_code: int, message: str) -> Response:
    return _json({"error": message}, status_code)


def _answered(started: float, kind: str, outcome: str, command: str = "other") -> None:
    telemetry.count(telemetry.INTERACTIONS, type=kind, command=command, outcome=outcome)
    telemetry.observe(telemetry.INTERACTION_DURATION, time.perf_counter() - started, type=kind, command=command)


class Backend(Protocol):
    async def handle(self, interaction: Interaction) -> InteractionResponse:
        """The answer to a verified interaction (never raises)."""

    async def health(self) -> list[Check]:
        """Each component's readiness (never raises)."""

    async def sample_gauges(self) -> None:
        """Read the gauges that come from the database (the worker's lag, active members)."""


class MetricsExport(Protocol):
    content_type: str

    def render(self) -> bytes: ...


class Endpoint:
    """Holds the settings and, once needed, the backend; exposes the routes."""

    def __init__(
        self, settings: Settings, connect: Callable[[], Backend], metrics: MetricsExport | None = None
    ) -> None:
        self.settings = settings
        self.metrics_export = metrics
        self._connect = connect
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = self._connect()
        return self._backend

    async def interactions(self, request: Request) -> Response:
        try:
            body = await _read_body(request)
            started = time.perf_counter()
        except _BodyTooLarge:
            return _problem(413, "request body too large")
        except ClientDisconnect:
            return _problem(400, "client disconnected")
        if not verify_request(
            self.settings.discord_public_key,
            request.headers.get("x-signature-ed25519"),
            request.headers.get("x-signature-timestamp"),
            body,
            max_age_seconds=self.settings.signature_max_age_seconds,
        ):
            log_fields(logger, logging.INFO, "bad signature", outcome="unauthorized")
            telemetry.count(telemetry.SIGNATURE_FAILURES)
            return _problem(401, "invalid request signature")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _problem(400, "body is not JSON")
        kind = payload.get("type") if isinstance(payload, dict) else None
        if not isinstance(kind, int) or isinstance(kind, bool) or kind not in KNOWN_TYPES:
            return _problem(400, "not an interaction of a known type")
        if payload["type"] == 1:
            _answered(started, "ping", "ok")
            return _json({"type": 1})
        clock = telemetry.started_at.set(started)
        try:
            return await self._interaction(payload)
        finally:
            telemetry.started_at.reset(clock)

    async def _interaction(self, payload: dict[str, Any]) -> Response:
        """Everything after the signature check, inside one boundary: a shape Discord cannot send is a 400,
        anything else gets an answer, never a 5xx."""
        from pydantic import ValidationError

        from models.discord.interactions import Interaction

        try:
            interaction = Interaction.model_validate(payload)
        except (ValidationError, RecursionError):
            return self._malformed(payload, "malformed interaction")
        token = correlation_id.set(interaction.id)
        try:
            return _answer(await self.backend.handle(interaction))
        except MalformedInteraction as error:
            return self._malformed(payload, str(error) or "malformed interaction data")
        except Exception:
            return _json(self._last_resort(interaction))
        finally:
            correlation_id.reset(token)

    def _malformed(self, payload: dict[str, Any], reason: str) -> Response:
        started = telemetry.started_at.get()
        if started is not None:
            _answered(started, telemetry.INTERACTION_TYPES[payload["type"]], "bad_request")
        interaction_id = payload.get("id")
        log_fields(
            logger,
            logging.WARNING,
            "malformed interaction",
            interaction_id=interaction_id if isinstance(interaction_id, str) else None,
            reason=reason,
            outcome="malformed",
        )
        return _problem(400, reason)

    def _last_resort(self, interaction: Interaction) -> InteractionResponse:
        """The backend itself failed (it could not even be wired): nothing was reached, so nothing changed."""
        from app.discord.dispatch import error_reply, unexpected_error

        error_id = secrets.token_hex(4)
        started = telemetry.started_at.get()
        if started is not None:
            _answered(started, telemetry.INTERACTION_TYPES[interaction.type], "error")
        logger.exception(
            "interaction failed outside the handlers %s", error_id, extra={"fields": {"error_id": error_id}}
        )
        return error_reply(interaction, unexpected_error(error_id, changed=False))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        status, body = report(await self.backend.health())
        return JSONResponse(body, status_code=status, media_type=HEALTH_MEDIA_TYPE)

    async def metrics(self, request: Request) -> Response:
        assert self.metrics_export is not None
        with contextlib.suppress(Exception):  # a scrape without the database still has everything else
            await asyncio.wait_for(self.backend.sample_gauges(), timeout=2.0)
        return Response(self.metrics_export.render(), media_type=self.metrics_export.content_type)


def build_app(
    settings: Settings, connect: Callable[[], Backend], *, lifespan: Any = None, metrics: MetricsExport | None = None
) -> Starlette:
    endpoint = Endpoint(settings, connect, metrics)
    routes = [
        Route("/interactions", endpoint.interactions, methods=["POST"]),
        Route("/healthz", endpoint.healthz, methods=["GET"]),
        Route("/readyz", endpoint.readyz, methods=["GET"]),
    ]
    if metrics is not None:
        routes.append(Route("/metrics", endpoint.metrics, methods=["GET"]))
    app = Starlette(lifespan=lifespan, routes=routes)
    app.state.endpoint = endpoint
    return app
