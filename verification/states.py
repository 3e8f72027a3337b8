"""The verification's status machine as data: which status may follow which."""
from __future__ import annotations

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"passed", "failed", "expired"}),
    # Untrusted or missing factors: only a risk officer's review ends it.
    "manual_review": frozenset({"passed", "failed"}),
    "passed": frozenset(),
    "failed": frozenset(),
    "expired": frozenset(),
}

OPEN_STATUSES = frozenset({"pending", "manual_review"})


def can_transition(current: str, to: str) -> bool:
    """Whether `to` may follow `current`."""
    return to in TRANSITIONS.get(current, frozenset())
