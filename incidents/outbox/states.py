"""The outbox rows' state machine, as data, and the one function that moves a row (with a Core variant).

Every outbox table (exchange commands, notifications, webhooks, peer messages) shares it: a row is
pending until claimed, in flight while a worker holds its lease (a lapsed lease may be claimed again),
then done, pending again for a retry, failed for good, or skipped (a message with nobody to go to).
"""
from __future__ import annotations

from typing import Any

from incidents.states import IllegalTransition

ROW_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"in_flight"}),
    "in_flight": frozenset({"in_flight", "pending", "done", "failed", "skipped"}),
    "done": frozenset(),
    "failed": frozenset(),
    "skipped": frozenset(),
}


def can_move(current: str, to: str) -> bool:
    """Whether the table lists current → to."""
    return to in ROW_TRANSITIONS.get(current, frozenset())


def moved(current: str, to: str, **changes: Any) -> dict[str, Any]:
    """The columns of one listed move, for a Core UPDATE (the hot path); an unlisted move is refused."""
    if not can_move(current, to):
        raise IllegalTransition(f"an outbox row cannot go from {current} to {to}", current=current,
                                allowed=sorted(ROW_TRANSITIONS.get(current, ())))
    return {"status": to, **changes}


def transition(row: Any, to: str, **changes: Any) -> None:
    """Move an outbox row (and set the columns that go with the move); the only assignment of its status."""
    for column, value in moved(row.status, to, **changes).items():
        setattr(row, column, value)
