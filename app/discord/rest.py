"""A small async client for Discord's REST API (bot-token authenticated), with rate limits honoured.

Only what Hunch needs: bulk-overwriting application commands. Rate limits follow Discord's documented
headers: a 429 is retried after `retry_after` (body), `Retry-After` or `X-RateLimit-Reset-After` a bounded
number of times, and a response with `X-RateLimit-Remaining: 0` makes the next request on that route wait
for `X-RateLimit-Reset-After` first. The bot token never appears in an exception message or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import httpx

from app.discord.rest_errors import DiscordApiError, DiscordRateLimited, describe_error_body

API_BASE = "https://discord.com/api/v10"
USER_AGENT = "DiscordBot (https://github.com/hunch, 0.1)"

DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_SLEEP = 60.0  # seconds; a longer wait than this is reported instead of slept through
DEFAULT_TIMEOUT = 15.0
_FALLBACK_RETRY_AFTER = 1.0
_RETRYABLE_SERVER_ERRORS = frozenset({500, 502, 503, 504})

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


class DiscordRest:
    """`async with DiscordRest(token) as rest: await rest.bulk_overwrite_commands(app_id, commands)`."""

    def __init__(
        self,
        bot_token: str,
        *,
        base_url: str = API_BASE,
        client: httpx.AsyncClient | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_sleep: float = DEFAULT_MAX_SLEEP,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        token = bot_token.strip()
        if token[:4].lower() == "bot ":
            token = token[4:].strip()
        if not token:
            raise ValueError("The bot token is empty: set DISCORD_BOT_TOKEN")
        # A header value must be printable ASCII; reject anything else here rather than let the HTTP library
        # raise an error that quotes the header (and so the token).
        if not all(" " < char < "\x7f" for char in token):
            raise ValueError("The bot token contains characters a token cannot have: check DISCORD_BOT_TOKEN")
        self._token = token
        self._base_url = base_url.rstrip("/")
        self._max_retries = max_retries
        self._max_sleep = max_sleep
        self._sleep = sleep
        self._clock = clock
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._headers = {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}
        self._blocked_until: dict[str, float] = {}  # route -> clock() time when its bucket resets

    def __repr__(self) -> str:
        return f"DiscordRest(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- endpoints ------------------------------------------------------------------------------------------------

    async def bulk_overwrite_commands(
        self, application_id: str, commands: list[dict[str, Any]], guild_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Replace the application's commands, globally or in one guild; returns Discord's command objects."""
        _check_snowflake(application_id, "application id")
        if guild_id is None:
            path = f"/applications/{application_id}/commands"
        else:
            _check_snowflake(guild_id, "guild id")
            path = f"/applications/{application_id}/guilds/{guild_id}/commands"
        result = await self.request("PUT", path, json=commands)
        if not isinstance(result, list):
            raise DiscordApiError(
                f"Discord answered PUT {path} with something other than a list of commands", method="PUT", path=path
            )
        return result

    # --- the request loop -----------------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, json: Any = None) -> Any:
        """Send one API request, waiting out rate limits; the decoded JSON body (None for 204)."""
        route = f"{method} {path}"
        attempt = 0
        while True:
            await self._wait_for_bucket(route)
            try:
                response = await self._client.request(method, self._base_url + path, json=json, headers=self._headers)
            except httpx.HTTPError as exc:
                raise DiscordApiError(
                    self._scrub(f"Could not reach Discord for {route}: {type(exc).__name__}: {exc}"),
                    method=method,
                    path=path,
                ) from None
            if response.status_code == 429:
                retry_after = _retry_after(response)
                scope = response.headers.get("X-RateLimit-Scope") or ("global" if _is_global(response) else "route")
                if attempt >= self._max_retries or retry_after > self._max_sleep:
                    reason = f"after {attempt} retries" if attempt >= self._max_retries else "and asked for a long wait"
                    raise DiscordRateLimited(
                        f"Discord is rate limiting {route} ({scope}) {reason}: try again in {retry_after:.1f}s",
                        retry_after=retry_after,
                        method=method,
                        path=path,
                    )
                attempt += 1
                logger.warning(
                    "Discord rate limited a request; retrying",
                    extra={"fields": {"route": route, "retry_after": retry_after, "scope": scope, "attempt": attempt}},
                )
                await self._sleep(retry_after)
                continue

            self._note_bucket(route, response)

            if response.status_code in _RETRYABLE_SERVER_ERRORS and attempt < self._max_retries:
                delay = min(float(2**attempt), self._max_sleep)
                attempt += 1
                logger.warning(
                    "Discord returned a server error; retrying",
                    extra={"fields": {"route": route, "status": response.status_code, "delay": delay}},
                )
                await self._sleep(delay)
                continue

            if response.is_success:
                if response.status_code == 204 or not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    raise DiscordApiError(
                        f"Discord answered {route} with a body that is not JSON",
                        status=response.status_code,
                        method=method,
                        path=path,
                    ) from None

            raise self._error(method, path, response)

    async def _wait_for_bucket(self, route: str) -> None:
        until = self._blocked_until.pop(route, None)
        if until is None:
            return
        delay = until - self._clock()
        if delay > 0:
            await self._sleep(min(delay, self._max_sleep))

    def _note_bucket(self, route: str, response: httpx.Response) -> None:
        if response.headers.get("X-RateLimit-Remaining") != "0":
            return
        reset_after = _float_header(response, "X-RateLimit-Reset-After")
        if reset_after is not None and reset_after > 0:
            self._blocked_until[route] = self._clock() + reset_after

    def _error(self, method: str, path: str, response: httpx.Response) -> DiscordApiError:
        status = response.status_code
        route = f"{method} {path}"
        body = _json_or_none(response)
        code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
        discord_says = describe_error_body(body) or response.reason_phrase or "no details"

        if status == 401:
            message = "Discord rejected the bot token (401): check DISCORD_BOT_TOKEN"
        elif status == 403:
            message = (
                f"Discord refused {route} (403 Forbidden: {discord_says}): check that the bot token belongs to "
                "this application and, for guild commands, that the app is installed in the guild with the "
                "applications.commands scope"
            )
        elif status == 404:
            message = (
                f"Discord returned 404 Not Found for {route} ({discord_says}): check the application id "
                "(DISCORD_APPLICATION_ID) and the guild id"
            )
        elif status == 400:
            message = f"Discord rejected the request body for {route} (400 Bad Request): {discord_says}"
        else:
            message = f"Discord answered {route} with {status}: {discord_says}"
        return DiscordApiError(self._scrub(message), status=status, code=code, method=method, path=path)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]")


# --- helpers ------------------------------------------------------------------------------------------------------


def _check_snowflake(value: str, what: str) -> None:
    if not value or not value.isascii() or not value.isdigit():
        raise ValueError(f"The {what} must be a numeric Discord id, got {value!r}")


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _float_header(response: httpx.Response, name: str) -> float | None:
    raw = response.headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


def _retry_after(response: httpx.Response) -> float:
    body = _json_or_none(response)
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    for header in ("Retry-After", "X-RateLimit-Reset-After"):
        parsed = _float_header(response, header)
        if parsed is not None:
            return parsed
    return _FALLBACK_RETRY_AFTER


def _is_global(response: httpx.Response) -> bool:
    body = _json_or_none(response)
    if isinstance(body, dict) and body.get("global") is True:
        return True
    return str(response.headers.get("X-RateLimit-Global", "")).lower() == "true"
