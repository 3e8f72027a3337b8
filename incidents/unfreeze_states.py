"""The unfreeze request's state machine and its checklist items', as data, and the one function that moves each."""
from __future__ import annotations

from typing import Any

from kernel.transitions import can_move as listed, move
from incidents.models import UnfreezeChecklistItem, UnfreezeRequest

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
REQUEST_INITIAL = "pending"

# A checklist item is judged again on every look at the request: it goes done when the evidence (or a staff
# attestation) is there and back to pending when it is not. A judgement that keeps the status but changes its
# grounds (attested, then shown by the system's own evidence) restamps the item without a move.
ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"done"}),
    "done": frozenset({"pending"}),
}
ITEM_INITIAL = "pending"


def can_move(current: str, to: str) -> bool:
    """Whether the request's table lists current → to."""
    return listed(REQUEST_TRANSITIONS, current, to)


def transition_request(request: UnfreezeRequest, to: str, **changes: Any) -> None:
    """Move a request (and set the columns that go with the move); the only assignment of its status."""
    move(request, REQUEST_TRANSITIONS, to, subject="an unfreeze request", **changes)


def transition_item(item: UnfreezeChecklistItem, to: str, **stamps: Any) -> None:
    """Move a checklist item (with who and when it was done); the only assignment of its status."""
    move(item, ITEM_TRANSITIONS, to, subject="a checklist item", **stamps)
