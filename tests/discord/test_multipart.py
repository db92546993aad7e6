"""The multipart/form-data body of a message with files, read back by a standard parser."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP

from app.discord.multipart import encode


def parts(body: bytes, content_type: str) -> list[tuple[str, str | None, str, bytes]]:
    """(name, filename, content type, bytes) of each part, as a mail parser reads them."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert message.is_multipart()
    found = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        found.append(
            (
                part.get_param("name", header="content-disposition"),
                part.get_filename(),
                part.get_content_type(),
                part.get_payload(decode=True),
            )
        )
    return found


def test_the_json_goes_as_payload_json_and_each_file_as_files_n() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    body, content_type = encode(
        {"type": 4, "data": {"content": "héllo", "attachments": [{"id": "0", "filename": "chart.png"}]}},
        [{"filename": "chart.png", "content_type": "image/png", "content": png}],
    )
    assert content_type.startswith("multipart/form-data; boundary=")
    (name, filename, kind, payload), (file_name, file_filename, file_kind, file_bytes) = parts(body, content_type)
    assert (name, filename, kind) == ("payload_json", None, "application/json")
    assert json.loads(payload) == {
        "type": 4,
        "data": {"content": "héllo", "attachments": [{"id": "0", "filename": "chart.png"}]},
    }
    assert (file_name, file_filename, file_kind, file_bytes) == ("files[0]", "chart.png", "image/png", png)


def test_each_body_has_a_boundary_of_its_own() -> None:
    first = encode({}, [])[1]
    second = encode({}, [])[1]
    assert first != second
