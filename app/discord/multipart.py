"""Files sent with a message: a `multipart/form-data` body of the JSON as `payload_json` and each file as
`files[n]`, the form Discord takes for uploads (in an interaction's response too)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.discord.messages import UploadFile


def to_json(content: Any) -> bytes:
    try:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate someone sent us, echoed back: escape it rather than fail
        return json.dumps(content, separators=(",", ":")).encode()


def _quoted(value: str) -> str:
    """A form field's name or file name inside its double quotes (as browsers escape them)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode(payload: Mapping[str, Any], files: Sequence[UploadFile]) -> tuple[bytes, str]:
    """The body and its content type."""
    boundary = secrets.token_hex(16)
    dash = f"--{boundary}".encode()
    parts = [
        dash,
        b'\r\nContent-Disposition: form-data; name="payload_json"\r\nContent-Type: application/json\r\n\r\n',
        to_json(payload),
        b"\r\n",
    ]
    for index, file in enumerate(files):
        head = (
            f'\r\nContent-Disposition: form-data; name="files[{index}]"; filename="{_quoted(file["filename"])}"'
            f"\r\nContent-Type: {file['content_type']}\r\n\r\n"
        )
        parts += [dash, head.encode(), file["content"], b"\r\n"]
    parts += [dash, b"--\r\n"]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
