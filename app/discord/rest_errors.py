"""Discord's REST API refusing a request, and its error bodies as a sentence an operator can act on."""

from __future__ import annotations

from typing import Any


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
