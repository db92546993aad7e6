"""One client for every call Hunch makes to Discord's REST API.

Every call goes through `send`: the rate limits first (`ratelimits.py`, after discord.py), then the circuit
breaker (`breaker.py`), then the request with a timeout; a 429 is waited out and a 5xx or a network error
retried with backoff, a bounded number of times. `DISCORD_API_BASE_URL` points it at a REST proxy or a test
server. Neither the bot token nor an interaction token ever appears in an exception message or a log line:
routes are logged by their template.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import httpx

from app import telemetry
from app.discord import multipart
from app.discord.breaker import CircuitBreaker
from app.discord.ratelimits import RateLimits, TooManyInvalidRequests
from app.discord.rest_errors import (
    DiscordApiError,
    DiscordRateLimited,
    DiscordUnavailable,
    describe_error_body,
    is_global,
    json_or_none,
    retry_after,
)

if TYPE_CHECKING:
    from models.discord.messages import UploadFile

API_BASE = "https://discord.com/api/v10"
USER_AGENT = "DiscordBot (https://github.com/hunch, 0.1)"
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_SLEEP = 60.0  # seconds; a longer wait than this is reported instead of slept through
DEFAULT_TIMEOUT = 10.0
_RETRYABLE_SERVER_ERRORS = frozenset({500, 502, 503, 504, 524})
_MAJOR = ("channel_id", "guild_id", "webhook_id", "webhook_token")
_SCOPES = frozenset({"user", "global", "shared"})  # X-RateLimit-Scope; a 429 without it is counted as `user`

logger = logging.getLogger("hunch.discord")
# httpx logs every request's URL at INFO (httpcore at DEBUG), and an interaction's URL holds its token.
for _noisy in ("httpx", "httpcore"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Route:
    """A call: its method, its path template and the values of its parameters."""

    method: str
    template: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return self.template.format_map({k: quote(str(v), safe="") for k, v in self.params.items()})

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def major(self) -> str:
        return "+".join(str(self.params[k]) for k in _MAJOR if k in self.params)

    @property
    def secrets(self) -> list[str]:
        return [str(self.params["webhook_token"])] if "webhook_token" in self.params else []


class DiscordRest:
    """`async with DiscordRest(token) as rest: await rest.bulk_overwrite_commands(app_id, commands)`.

    Without a bot token only the interaction webhooks (authenticated by their token) can be called."""

    def __init__(
        self,
        bot_token: str | None = None,
        *,
        base_url: str = API_BASE,
        client: httpx.AsyncClient | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_sleep: float = DEFAULT_MAX_SLEEP,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        breaker: CircuitBreaker | None = None,
        limits: RateLimits | None = None,
    ) -> None:
        token = (bot_token or "").strip()
        if token[:4].lower() == "bot ":
            token = token[4:].strip()
        if bot_token is not None and not token:
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
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self.breaker = breaker or CircuitBreaker(clock=clock)
        self.limits = limits or RateLimits(clock=clock, sleep=sleep)

    @property
    def has_bot_token(self) -> bool:
        return bool(self._token)

    def __repr__(self) -> str:
        return f"DiscordRest(base_url={self._base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def request(self, method: str, path: str, *, json: Any = None) -> Any:
        """A bot-authenticated call to a literal path (the route is the path itself)."""
        return await self.send(Route(method, path), json=json)

    async def send(self, route: Route, *, json: Any = None, bot: bool = True, files: Sequence[UploadFile] = ()) -> Any:
        """Send one call, waiting out rate limits; the decoded JSON body (None for 204). With `files`, the body is
        multipart/form-data: `json` as `payload_json` and file n as `files[n]`."""
        headers = {"User-Agent": USER_AGENT}
        if bot:
            if not self._token:
                raise DiscordApiError("No bot token is configured: set DISCORD_BOT_TOKEN", method=route.method)
            headers["Authorization"] = f"Bot {self._token}"
        bucket = self.limits.bucket(route.key, route.major)
        with telemetry.span("discord.rest", route=route.key):
            return await self._send(route, bucket, json, headers, files)

    async def _send(
        self, route: Route, bucket: Any, json: Any, headers: dict[str, str], files: Sequence[UploadFile]
    ) -> Any:
        async with bucket.lock:
            attempt = 0
            while True:
                response = await self._attempt(route, bucket, json, headers, files)
                if response is None:  # a network error, retried
                    telemetry.count(telemetry.DISCORD_REQUESTS, route=route.key, status="error")
                    attempt += 1
                    if attempt > self._max_retries:
                        self.breaker.failed()
                        raise DiscordApiError(f"Could not reach Discord for {route.key}", method=route.method)
                    await self._sleep(min(float(2 ** (attempt - 1)), self._max_sleep))
                    continue
                status = response.status_code
                telemetry.count(telemetry.DISCORD_REQUESTS, route=route.key, status=str(status))
                self.limits.count_invalid(status, response.headers.get("X-RateLimit-Scope"))
                if status == 429:
                    wait = retry_after(response)
                    scope = response.headers.get("X-RateLimit-Scope") or ("global" if is_global(response) else "route")
                    telemetry.count(telemetry.DISCORD_RATE_LIMITED, scope=scope if scope in _SCOPES else "user")
                    self.limits.limited(bucket, wait, is_global=scope == "global")
                    if attempt >= self._max_retries or wait > self._max_sleep:
                        reason = (
                            f"after {attempt} retries" if attempt >= self._max_retries else "and asked for a long wait"
                        )
                        raise DiscordRateLimited(
                            f"Discord is rate limiting {route.key} ({scope}) {reason}: try again in {wait:.1f}s",
                            retry_after=wait,
                            method=route.method,
                            path=route.template,
                        )
                    attempt += 1
                    logger.warning(
                        "Discord rate limited a request; waiting",
                        extra={"fields": {"route": route.key, "retry_after": wait, "scope": scope, "attempt": attempt}},
                    )
                    continue
                if status in _RETRYABLE_SERVER_ERRORS and attempt < self._max_retries:
                    delay = min(float(2**attempt), self._max_sleep)
                    attempt += 1
                    logger.warning(
                        "Discord returned a server error; retrying",
                        extra={"fields": {"route": route.key, "status": status, "delay": delay}},
                    )
                    await self._sleep(delay)
                    continue
                if status >= 500:
                    self.breaker.failed()
                else:
                    self.breaker.succeeded()
                if response.is_success:
                    return self._body(route, response)
                raise self._error(route, response)

    async def _attempt(
        self, route: Route, bucket: Any, json: Any, headers: dict[str, str], files: Sequence[UploadFile] = ()
    ) -> httpx.Response | None:
        """One request once the limits allow it; None when the network failed."""
        try:
            self.limits.check_invalid()
        except TooManyInvalidRequests as held:
            raise DiscordRateLimited(str(held), retry_after=60.0, method=route.method, path=route.template) from None
        wait = self.limits.wait_for(bucket)
        if wait > self._max_sleep:
            raise DiscordRateLimited(
                f"{route.key} is rate limited for {wait:.1f}s",
                retry_after=wait,
                method=route.method,
                path=route.template,
            )
        if wait > 0:
            await self.limits.sleep(wait)
        if not self.breaker.allow():
            raise DiscordUnavailable(
                f"Discord's API is failing: calls are held back for {self.breaker.retry_in():.0f}s",
                retry_in=self.breaker.retry_in(),
                method=route.method,
                path=route.template,
            )
        url = self._base_url + route.path
        try:
            if files:
                body, content_type = multipart.encode(json, files)
                headers = {**headers, "Content-Type": content_type}
                response = await self._client.request(route.method, url, content=body, headers=headers)
            else:
                response = await self._client.request(route.method, url, json=json, headers=headers)
        except httpx.HTTPError as exc:
            logger.warning(
                "Discord could not be reached; retrying",
                extra={"fields": {"route": route.key, "error": self._scrub(f"{type(exc).__name__}: {exc}", route)}},
            )
            return None
        self.limits.learned(route.key, route.major, bucket, {k.lower(): v for k, v in response.headers.items()})
        return response

    def _body(self, route: Route, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise DiscordApiError(
                f"Discord answered {route.key} with a body that is not JSON",
                status=response.status_code,
                method=route.method,
                path=route.template,
            ) from None

    def _error(self, route: Route, response: httpx.Response) -> DiscordApiError:
        status, name = response.status_code, f"{route.method} {route.path if not route.secrets else route.template}"
        body = json_or_none(response)
        code = body.get("code") if isinstance(body, dict) and isinstance(body.get("code"), int) else None
        says = describe_error_body(body) or response.reason_phrase or "no details"
        if status == 401:
            message = "Discord rejected the bot token (401): check DISCORD_BOT_TOKEN"
        elif status == 403:
            message = (
                f"Discord refused {name} (403 Forbidden: {says}): check that the bot token belongs to this "
                "application and, for guild commands, that the app is installed in the guild with the "
                "applications.commands scope"
            )
        elif status == 404:
            message = (
                f"Discord returned 404 Not Found for {name} ({says}): check the application id "
                "(DISCORD_APPLICATION_ID) and the guild id"
            )
        elif status == 400:
            message = f"Discord rejected the request body for {name} (400 Bad Request): {says}"
        else:
            message = f"Discord answered {name} with {status}: {says}"
        return DiscordApiError(
            self._scrub(message, route), status=status, code=code, method=route.method, path=route.template
        )

    def _scrub(self, text: str, route: Route) -> str:
        for secret in [self._token, *route.secrets]:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text
