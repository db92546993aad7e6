"""A throttle that lets every action through, for tests of what lies behind it."""

from __future__ import annotations


async def no_throttle(actor: object, action: object) -> None:
    return None
