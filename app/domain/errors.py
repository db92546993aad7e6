"""The domain's error hierarchy.

Services and the market engine raise these; the HTTP layer turns each one into a friendly ephemeral
reply. They carry no HTTP or Discord types, only a message a member can read.
"""

from __future__ import annotations

from datetime import datetime


class HunchError(Exception):
    """An expected failure whose message is safe to show to the member who caused it."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(HunchError):
    code = "invalid"


class InsufficientBalance(HunchError):
    code = "insufficient_balance"


class NotFound(HunchError):
    code = "not_found"


class Forbidden(HunchError):
    code = "forbidden"


class RoleRequired(Forbidden):
    """Only members with a role the server chose may do this; the reply names the role."""

    def __init__(self, role_id: int, action: str) -> None:
        super().__init__(f"Only members with the required role can {action}.")
        self.role_id = role_id
        self.action = action


class Conflict(HunchError):
    """The request is well formed but the current state does not allow it (e.g. market closed)."""

    code = "conflict"


class MarketNotOpen(Conflict):
    code = "market_not_open"


class RateLimited(HunchError):
    code = "rate_limited"

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class Unavailable(HunchError):
    """A transient infrastructure failure (database gone mid-request); nothing was applied."""

    code = "unavailable"


class OutcomeUnknown(HunchError):
    """The connection dropped while the change was being committed: it may or may not have been kept. A
    redelivery of the same interaction gets what really happened from its record."""

    code = "outcome_unknown"

    def __init__(self) -> None:
        super().__init__(
            "We lost contact with the database while saving this, so we can't tell yet whether it went through. "
            "Check /balance or /portfolio before you try again."
        )
