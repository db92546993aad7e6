"""Structured JSON logs with a correlation id on every line and secrets redacted everywhere."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from app import telemetry

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|signature|api[_-]?key)", re.IGNORECASE)
# Interaction tokens are long base64url strings starting with "aW50ZXJhY3Rpb2" ("interaction" in base64);
# bot tokens are three dot-separated base64url parts.
_TOKEN_PATTERNS = (
    re.compile(r"aW50ZXJhY3Rpb2[A-Za-z0-9_\-]{20,}"),
    re.compile(r"[A-Za-z0-9_\-]{23,28}\.[A-Za-z0-9_\-]{6,7}\.[A-Za-z0-9_\-]{27,}"),
    re.compile(r"(?i)(bot\s+)[A-Za-z0-9_\-\.]{20,}"),
    re.compile(r"(?i)(://[^:/@\s]+:)[^@\s]+(@)"),
)
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    for pattern in _TOKEN_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_text(record.getMessage()),
            "correlation_id": correlation_id.get(),
        }
        trace_id = telemetry.trace_id()
        if trace_id is not None:
            entry["trace_id"] = trace_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(redact(fields))
        if record.exc_info:
            entry["exception"] = redact_text("".join(traceback.format_exception(*record.exc_info)))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Our own loggers speak at the configured level; drivers and clients only when something is wrong.
    for noisy in ("aiosqlite", "asyncio", "httpx", "httpcore", "sqlalchemy", "alembic", "redis"):
        logging.getLogger(noisy).setLevel(
            max(logging.getLevelName(level), logging.WARNING)
            if isinstance(logging.getLevelName(level), int)
            else logging.WARNING
        )
    # Uvicorn's access log would print paths without our redaction or correlation id; ours covers it.
    logging.getLogger("uvicorn.access").disabled = True


def log_fields(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    logger.log(level, message, extra={"fields": fields})
