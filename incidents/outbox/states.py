"""The outbox rows' state machine, as data, and the one function that moves a row (with a Core variant).

Every outbox table (exchange commands, notifications, webhooks, peer messages) shares it: a row is
pending until claimed, in flight while a worker holds its lease (a lapsed lease may be claimed again),
then done, pending again for a retry, failed for good, or skipped (a message with nobody to go to).
"""
from __future__ import annotations

from typing import Any

from kernel import transitions

ROW_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_flight"}),
    "in_flight": frozenset({"in_flight", "pending", "done", "failed", "skipped"}),
    "done": frozenset(),
    "failed": frozenset(),
    "skipped": frozenset(),
}

INITIAL = "pending"  # every row is written pending (or taken at once by `lease.take`)
SUBJECT = "an outbox row"


def can_move(current: str, to: str) -> bool:
    """Whether the table lists current → to."""
    return transitions.can_move(ROW_TRANSITIONS, current, to)


def moved(current: str, to: str, **changes: Any) -> dict[str, Any]:
    """The columns of one listed move, for a Core UPDATE (the hot path); an unlisted move is refused."""
    transitions.check_move(ROW_TRANSITIONS, current, to, subject=SUBJECT)
    return {"status": to, **changes}


def transition(row: Any, to: str, **changes: Any) -> None:
    """Move an outbox row (and set the columns that go with the move); the only assignment of its status."""
    transitions.move(row, ROW_TRANSITIONS, to, subject=SUBJECT, **changes)
