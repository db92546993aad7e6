"""Signs requests the way Discord does: Ed25519 over timestamp + raw body."""

from __future__ import annotations

import json
import time
from typing import Any

from nacl.signing import SigningKey


class Signer:
    def __init__(self, key: SigningKey) -> None:
        self.key = key

    @property
    def public_key_hex(self) -> str:
        return self.key.verify_key.encode().hex()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp if timestamp is not None else str(int(time.time()))
        signature = self.key.sign(timestamp.encode() + body).signature.hex()
        return {
            "X-Signature-Ed25519": signature,
            "X-Signature-Timestamp": timestamp,
            "Content-Type": "application/json",
        }

    @staticmethod
    def body(payload: dict[str, Any]) -> bytes:
        # Discord sends compact JSON with sorted keys.
        return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
