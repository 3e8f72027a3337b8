"""What the simulated exchange can be told to get wrong (failures, slowness, unknown accounts, held answers),
and the log of the calls it received, which tests read."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

CALL_LOG_LIMIT = 10_000


@dataclass
class Faults:
    """Failures to inject; tests change them between calls (thread-safe)."""

    fail_next: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    delay_seconds: float = 0.0
    missing_accounts: bool = False
    hold_writes: bool = False
    write_applied: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, **changes: Any) -> None:
        """Change several faults at once."""
        with self._lock:
            for name, value in changes.items():
                if name.startswith("_") or not hasattr(self, name):
                    raise ValueError(f"no fault named {name}")
                setattr(self, name, value)

    def take_failure(self) -> int | None:
        """The status to fail this call with, if a failure is still owed."""
        with self._lock:
            if self.fail_next <= 0:
                return None
            self.fail_next -= 1
            return self.fail_status


@dataclass(frozen=True)
class Call:
    """One request the back office received."""

    method: str
    path: str
    idempotency_key: str | None
    client_port: int | None = None


@dataclass
class CallLog:
    """The newest requests received, in order (thread-safe; bounded, so a long-running server does not grow)."""

    calls: deque[Call] = field(default_factory=lambda: deque(maxlen=CALL_LOG_LIMIT))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        """Remember a request."""
        with self._lock:
            self.calls.append(call)

    def keys_for(self, suffix: str) -> list[str | None]:
        """The idempotency keys of the calls whose path ends with `suffix`."""
        with self._lock:
            return [call.idempotency_key for call in self.calls if call.path.split("?")[0].endswith(suffix)]
