"""Discord's REST API refusing a request, and its error bodies as a sentence an operator can act on."""

from __future__ import annotations

from typing import Any

import httpx

_FALLBACK_RETRY_AFTER = 1.0


class DiscordApiError(Exception):
    """Discord refused a request, or could not be reached. The message says what to check."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code  # Discord's JSON error code, e.g. 50035 (Invalid Form Body)
        self.method = method
        self.path = path


class DiscordRateLimited(DiscordApiError):
    """Still rate limited after the allowed retries, or asked to wait longer than we are willing to."""

    def __init__(self, message: str, *, retry_after: float, method: str = "", path: str = "") -> None:
        super().__init__(message, status=429, method=method, path=path)
        self.retry_after = retry_after


class DiscordUnavailable(DiscordApiError):
    """Discord's API cannot be reached (the circuit breaker is open): try again in `retry_in` seconds."""

    def __init__(self, message: str, *, retry_in: float, method: str = "", path: str = "") -> None:
        super().__init__(message, method=method, path=path)
        self.retry_in = retry_in


UNKNOWN_CHANNEL = 10003
MESSAGE_GONE = frozenset({UNKNOWN_CHANNEL, 10008, 10015})  # unknown channel, unknown message, unknown webhook
OLD_MESSAGE_EDITS = 30046  # "Maximum number of edits to messages older than 1 hour reached. Try again later"
MISSING_PERMISSIONS = 50013  # e.g. an upload without Attach Files in the channel
MISSING_ACCESS = frozenset({50001, MISSING_PERMISSIONS})  # missing access, missing permissions


def describe_error_body(body: Any) -> str:
    """Discord's message plus every field error, e.g. `Invalid Form Body; 0.options.1.name: ... (CODE)`."""
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    message = body.get("message")
    if isinstance(message, str) and message:
        parts.append(f"{message} (code {body['code']})" if isinstance(body.get("code"), int) else message)
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts.extend(_field_errors(errors, ""))
    return "; ".join(parts)


def _field_errors(node: dict[str, Any], prefix: str, limit: int = 10) -> list[str]:
    found: list[str] = []
    inner = node.get("_errors")
    if isinstance(inner, list):
        for error in inner:
            if isinstance(error, dict):
                text = str(error.get("message", "invalid"))
                if error.get("code"):
                    text += f" ({error['code']})"
                found.append(f"{prefix or '(body)'}: {text}")
    for key, child in node.items():
        if key == "_errors" or not isinstance(child, dict):
            continue
        found.extend(_field_errors(child, f"{prefix}.{key}" if prefix else str(key), limit))
        if len(found) >= limit:
            break
    return found[:limit]


def json_or_none(response: httpx.Response) -> Any:
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


def retry_after(response: httpx.Response) -> float:
    """How long a 429 asks to wait: the body's `retry_after`, else `Retry-After`, else `X-RateLimit-Reset-After`."""
    body = json_or_none(response)
    if isinstance(body, dict):
        value = body.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    for header in ("Retry-After", "X-RateLimit-Reset-After"):
        parsed = _float_header(response, header)
        if parsed is not None:
            return parsed
    return _FALLBACK_RETRY_AFTER


def is_global(response: httpx.Response) -> bool:
    body = json_or_none(response)
    if isinstance(body, dict) and body.get("global") is True:
        return True
    return str(response.headers.get("X-RateLimit-Global", "")).lower() == "true"
