"""Ed25519 verification of Discord's request signatures, with the key parsed once and cached."""

from __future__ import annotations

import time
from functools import lru_cache

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


@lru_cache(maxsize=4)
def _verify_key(public_key_hex: str) -> VerifyKey:
    return VerifyKey(bytes.fromhex(public_key_hex))


def verify_request(
    public_key_hex: str,
    signature_hex: str | None,
    timestamp: str | None,
    body: bytes,
    *,
    max_age_seconds: int,
    now: float | None = None,
) -> bool:
    """True when `signature` signs `timestamp + body` under the key and the timestamp is fresh enough.

    Never raises: every malformed input is simply "not verified".
    """
    if not public_key_hex or not signature_hex or not timestamp:
        return False
    if len(signature_hex) != 128 or len(timestamp) > 20 or not timestamp.isascii() or not timestamp.isdigit():
        return False
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    if max_age_seconds:
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > max_age_seconds:
            return False
    try:
        _verify_key(public_key_hex).verify(timestamp.encode() + body, signature)
    except (BadSignatureError, ValueError):
        return False
    return True
