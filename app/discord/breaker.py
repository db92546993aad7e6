"""A circuit breaker around Discord's REST API, so an outage costs a fast refusal rather than a timeout.

Closed: calls go through. After `threshold` consecutive failures (network errors, timeouts, 5xx that outlived
their retries) it opens: calls are refused at once for `cooldown` seconds. Then it is half-open: one call goes
through as a probe; its success closes the breaker, its failure opens it again for twice as long (up to
`longest_cooldown`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

from app import telemetry
from app.logging import log_fields

logger = logging.getLogger("hunch.discord")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        *,
        threshold: int = 5,
        cooldown: float = 15.0,
        longest_cooldown: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.longest_cooldown = longest_cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._current_cooldown = cooldown
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self._current_cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def retry_in(self) -> float:
        """Seconds until a call may go through again (0 when it may now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._current_cooldown - self._clock())

    def allow(self) -> bool:
        """Whether a call may go through now (a half-open breaker lets one probe through at a time)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            telemetry.gauge(telemetry.DISCORD_BREAKER, 1)
            return True
        return False

    def succeeded(self) -> None:
        if self._opened_at is not None:
            log_fields(logger, logging.WARNING, "discord breaker closed", breaker=BreakerState.CLOSED.value)
            telemetry.gauge(telemetry.DISCORD_BREAKER, 0)
        self._failures = 0
        self._opened_at = None
        self._current_cooldown = self.cooldown
        self._probing = False

    def failed(self) -> None:
        self._failures += 1
        if self._probing:  # the probe failed: open again, for longer
            self._current_cooldown = min(self.longest_cooldown, self._current_cooldown * 2)
            self._open()
        elif self._opened_at is None and self._failures >= self.threshold:
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._probing = False
        telemetry.gauge(telemetry.DISCORD_BREAKER, 2)
        log_fields(
            logger,
            logging.WARNING,
            "discord breaker open",
            breaker=BreakerState.OPEN.value,
            failures=self._failures,
            cooldown_seconds=self._current_cooldown,
        )
