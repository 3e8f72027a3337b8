"""The unfreeze request's state machine, as data, and the one function that moves a request."""
from __future__ import annotations

from typing import Any

from incidents.models import UnfreezeRequest
from incidents.states import IllegalTransition

# pending → approved (the last approval needed) or rejected; approved → executing (the unfreeze is queued);
# executing → completed or failed (the exchange's answer); any open request → cancelled (the owner disowned
# the case; an unfreeze already sent is refrozen once it lands).
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"approved", "rejected", "cancelled"}),
    "approved": frozenset({"executing", "cancelled"}),
    "executing": frozenset({"completed", "failed", "cancelled"}),
    "completed": frozenset(),
    "rejected": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}


def can_move(current: str, to: str) -> bool:
    """Whether the table lists current → to."""
    return to in REQUEST_TRANSITIONS.get(current, frozenset())


def transition_request(request: UnfreezeRequest, to: str, **changes: Any) -> None:
    """Move a request (and set the columns that go with the move); the only assignment of its status."""
    if not can_move(request.status, to):
        raise IllegalTransition(f"an unfreeze request cannot go from {request.status} to {to}",
                                current=request.status, allowed=sorted(REQUEST_TRANSITIONS.get(request.status, ())))
    request.status = to
    for column, value in changes.items():
        setattr(request, column, value)
