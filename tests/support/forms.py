"""multipart/form-data bodies as Discord reads them: the JSON in `payload_json`, file n in `files[n]`,
described by the `attachments` entry whose id is n; an embed's `attachment://name` must name a file sent with it."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

Json = dict[str, Any]
Files = dict[str, tuple[str, str, bytes]]  # "files[n]" -> (filename, content type, bytes)


class BadForm(Exception):
    """A multipart body Discord would refuse (400, 50035 Invalid Form Body)."""


def read_form(content_type: str, content: bytes) -> tuple[Json | None, Files]:
    """The JSON of a body and its files, whether it came as JSON or as multipart/form-data (checked)."""
    if not content_type.startswith("multipart/form-data"):
        return (json.loads(content) if content else None), {}
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + content)
    if not message.is_multipart():
        raise BadForm("not a multipart body")
    body: Json | None = None
    files: Files = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name == "payload_json":
            body = json.loads(part.get_payload(decode=True))
        elif isinstance(name, str) and name.startswith("files["):
            files[name] = (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        else:
            raise BadForm(f"unexpected part {name!r}")
    message_data = (body or {}).get("data", body) or {}  # an interaction response nests the message in `data`
    described = {f"files[{a.get('id')}]" for a in message_data.get("attachments", [])}
    if set(files) - described:
        raise BadForm(f"files without an attachments entry: {sorted(set(files) - described)}")
    sent = {filename for filename, _, _ in files.values()}
    for embed in message_data.get("embeds", []):
        url = (embed.get("image") or {}).get("url", "")
        if url.startswith("attachment://") and url.removeprefix("attachment://") not in sent:
            raise BadForm(f"{url} names no file sent")
    return body, files
