"""Discord's REST API as far as Hunch uses it, on respx at the HTTP boundary: interaction replies
(`/webhooks/{app}/{token}/messages/@original`), channel messages (create with nonce, edit), Discord's
rate-limit headers, and failures on demand (429s, error codes, an outage, a channel where the bot may not
attach files). A multipart/form-data body is
read as Discord reads it (`payload_json`, `files[n]` each described by `attachments[n]`), and refused with
Discord's 400 when a file has no attachment entry or an embed shows an `attachment://` that was not sent.

Discord posts an interaction's reply itself; the stand-in has no way to see it, so the first call on a token's
`@original` finds a message there (as Discord would have it once the reply was sent).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from tests.support.discord_payloads import CHANNEL_ID
from tests.support.forms import BadForm, read_form

Json = dict[str, Any]
BASE_URL = "https://discord.stand-in.test/api/v10"
_ORIGINAL = re.compile(r"^/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/@original$")
_MESSAGE = re.compile(r"^/channels/(?P<channel>\d+)/messages/(?P<message>\d+)$")
_MESSAGES = re.compile(r"^/channels/(?P<channel>\d+)/messages$")


@dataclass
class Call:
    method: str
    route: str  # the path with its token replaced by `{token}`
    body: Json | None
    status: int
    authorization: str | None
    message_id: str | None = None  # the message the call read or changed
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # files[n] -> (filename, type, bytes)


@dataclass
class StandInDiscord:
    base_url: str = BASE_URL
    messages: dict[str, Json] = field(default_factory=dict)  # message id -> message
    originals: dict[str, str] = field(default_factory=dict)  # interaction token -> message id
    calls: list[Call] = field(default_factory=list)
    failures: list[httpx.Response | Exception] = field(default_factory=list)  # the next calls' answers
    down: bool = False  # every call fails as if Discord's API were unreachable
    no_attach_files: set[str] = field(default_factory=set)  # channels where the bot lacks Attach Files
    channel_id: str = CHANNEL_ID  # where interactions come from, so where their replies are
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1_300_000_000_000_000_000))

    def install(self, router: respx.MockRouter) -> None:
        router.route(url__startswith=self.base_url).mock(side_effect=self.handle)

    # -- what tests look at ----------------------------------------------------------------------------------------

    def edits(self, message_id: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "PATCH" and c.status == 200 and (message_id is None or c.message_id == message_id)
        ]

    def posts(self) -> list[Json]:
        return [c.body or {} for c in self.calls if c.method == "POST" and c.status == 200]

    def original(self, token: str) -> Json | None:
        found = self.originals.get(token)
        return self.messages.get(found) if found else None

    def fail_next(self, *answers: httpx.Response | Exception) -> None:
        self.failures.extend(answers)

    # -- Discord --------------------------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(httpx.URL(self.base_url).path)
        try:
            body, files = read_form(request.headers.get("content-type", ""), request.content)
        except BadForm as refused:
            return httpx.Response(400, json={"message": f"Invalid Form Body: {refused}", "code": 50035})
        route = _ORIGINAL.sub(lambda m: f"/webhooks/{m['app']}/{{token}}/messages/@original", path)
        if self.down:
            self.calls.append(Call(request.method, route, body, 0, request.headers.get("authorization")))
            raise httpx.ConnectError("stand-in Discord is down", request=request)
        if self.failures:
            answer = self.failures.pop(0)
            if isinstance(answer, Exception):
                raise answer
            self.calls.append(
                Call(request.method, route, body, answer.status_code, request.headers.get("authorization"))
            )
            return answer
        if (
            files
            and (match := _MESSAGE.match(path) or _MESSAGES.match(path))
            and match["channel"] in self.no_attach_files
        ):
            response = httpx.Response(403, json={"message": "Missing Permissions", "code": 50013})
        else:
            response = self._answer(request.method, path, body, request.headers.get("authorization"))
        message_id = None
        if match := _ORIGINAL.match(path):
            message_id = self.originals.get(match["token"])
        elif match := _MESSAGE.match(path):
            message_id = match["message"]
        authorization = request.headers.get("authorization")
        self.calls.append(Call(request.method, route, body, response.status_code, authorization, message_id, files))
        return response

    def _answer(self, method: str, path: str, body: Json | None, authorization: str | None) -> httpx.Response:
        headers = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "1"}
        if match := _ORIGINAL.match(path):
            message = self._original(match["token"])
            if method == "PATCH":
                message.update(body or {})
            return httpx.Response(200, json=message, headers={**headers, "X-RateLimit-Bucket": "webhook"})
        if authorization is None or not authorization.startswith("Bot "):
            return httpx.Response(401, json={"message": "401: Unauthorized", "code": 0})
        if match := _MESSAGE.match(path):
            found = self.messages.get(match["message"])
            if found is None or found["channel_id"] != match["channel"]:
                return httpx.Response(404, json={"message": "Unknown Message", "code": 10008})
            if method == "PATCH":
                found.update(body or {})
            return httpx.Response(200, json=found, headers={**headers, "X-RateLimit-Bucket": "messages"})
        if (match := _MESSAGES.match(path)) and method == "POST":
            nonce = (body or {}).get("nonce")
            for existing in self.messages.values():
                if nonce and existing.get("nonce") == nonce and (body or {}).get("enforce_nonce"):
                    return httpx.Response(200, json=existing, headers=headers)
            message = self._new_message(match["channel"], body or {})
            return httpx.Response(200, json=message, headers={**headers, "X-RateLimit-Bucket": "messages"})
        return httpx.Response(404, json={"message": "404: Not Found", "code": 0})

    def _original(self, token: str) -> Json:
        if token not in self.originals:
            self.originals[token] = self._new_message(self.channel_id, {})["id"]
        return self.messages[self.originals[token]]

    def _new_message(self, channel_id: str, body: Json) -> Json:
        message = {"id": str(next(self._ids)), "channel_id": channel_id, "content": "", "embeds": [], **body}
        self.messages[message["id"]] = message
        return message


def rate_limited(retry_after: float, *, scope: str = "user", is_global: bool = False) -> httpx.Response:
    return httpx.Response(
        429,
        json={"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global},
        headers={"X-RateLimit-Scope": "global" if is_global else scope, "Retry-After": str(int(retry_after) + 1)},
    )


def asgi_app(discord: StandInDiscord) -> Any:
    """The stand-in as an ASGI app, to serve on a real port for a Hunch running in its own process."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    prefix = httpx.URL(discord.base_url).path

    async def endpoint(request: Request) -> Response:
        url = httpx.URL(discord.base_url).copy_with(path=request.url.path, query=request.url.query.encode())
        forwarded = httpx.Request(request.method, url, headers=request.headers.raw, content=await request.body())
        try:
            answer = discord.handle(forwarded)
        except httpx.TransportError:
            return Response(status_code=503)
        return Response(answer.content, status_code=answer.status_code, headers=dict(answer.headers))

    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    return Starlette(routes=[Route(prefix + "/{path:path}", endpoint, methods=methods)])
