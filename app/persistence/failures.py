"""What a database error means for the transaction it broke: worth retrying, or the connection is gone."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available
_DISCONNECT_SQLSTATES = {"57P01", "57P02", "57P03", "08000", "08003", "08006"}
_DISCONNECT_ERRORS = {
    "ConnectionDoesNotExistError",
    "ConnectionResetError",
    "ConnectionRefusedError",
    "InterfaceError",
    "AdminShutdownError",
    "TerminatingConnectionError",
    "CannotConnectNowError",
    "OSError",
    "TimeoutError",
}


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    for attr in ("sqlstate", "pgcode"):
        code = getattr(orig, attr, None)
        if code:
            return str(code)
    cause = getattr(orig, "__cause__", None)
    code = getattr(cause, "sqlstate", None)
    return str(code) if code else None


def is_retryable(exc: BaseException) -> bool:
    """A conflict with another transaction (or SQLite's busy lock): the same work may simply run again."""
    if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
        if _sqlstate(exc) in RETRYABLE_SQLSTATES:
            return True
        return "database is locked" in str(exc.orig)
    return False


def retry_reason(exc: BaseException) -> str:
    """A retried conflict as hunch_db_transaction_retries_total names it (a lock wait that gave up, or
    SQLite's busy lock, counts with the serialization failures)."""
    if isinstance(exc, DBAPIError) and _sqlstate(exc) == "40P01":
        return "deadlock"
    return "serialization"


def is_disconnect(exc: BaseException) -> bool:
    """The connection to the database was lost (or never made)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    chain = _chain(exc)
    return bool({type(e).__name__ for e in chain} & _DISCONNECT_ERRORS) or any(
        str(getattr(e, "sqlstate", "")) in _DISCONNECT_SQLSTATES for e in chain
    )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen
