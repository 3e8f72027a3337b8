"""A circuit breaker: stop calling an exchange that keeps failing, try again after a cool-down."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from incidents.exchange.port import ExchangeUnavailable


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures → half-open (one trial) after `reset_after`."""

    def __init__(self, *, failure_threshold: int = 5, reset_after: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        """`closed`, `open` or `half_open`."""
        with self._lock:
            return self._state()

    def before_call(self) -> None:
        """Let a call through, or raise ExchangeUnavailable while the circuit is open."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._trial_running:
                self._trial_running = True
                return
            remaining = self._reset_after - (self._clock() - (self._opened_at or 0.0))
            raise ExchangeUnavailable("circuit open: the exchange failed repeatedly",
                                      retry_after=max(remaining, 0.0))

    def record_success(self) -> None:
        """A call got an answer: close the circuit."""
        with self._lock:
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def record_failure(self) -> None:
        """A call failed for availability reasons: count it, open (again) at the threshold."""
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self._threshold:
                self._opened_at, self._trial_running = self._clock(), False

    def _state(self) -> str:
        """The state now (caller holds the lock)."""
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self._reset_after else "open"
