"""The hand-off's three state machines, as data, and the one function that moves each.

- A request **sent** to a peer: queued until its delivery ends (sent, or failed for good), then moved only
  forward by the peer's signed status updates (a late or repeated update is not a move and is ignored).
- A request **received** from a peer: written acknowledged (some deposit is one of our accounts') or declined;
  held once every account's withdrawals are, released when staff lift a hold.
- A **hold** of one account for a peer: holding until the exchange confirms the freeze, then held; released by
  staff.
"""
from __future__ import annotations

from typing import Any

from kernel.transitions import can_move, move
from incidents.handoff.models import PeerHold, ReceivedFreezeRequest, SentFreezeRequest

SENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"sent", "failed", "acknowledged", "held", "declined", "released"}),
    "sent": frozenset({"acknowledged", "held", "declined", "released"}),
    "acknowledged": frozenset({"held", "declined", "released"}),
    "held": frozenset({"released"}),
    "declined": frozenset({"released"}),
    "released": frozenset(),
    "failed": frozenset(),
}
SENT_INITIAL = "queued"
# Not yet answered by the peer: the acknowledgement clock runs.
AWAITING_ANSWER = frozenset({"queued", "sent"})

RECEIVED_TRANSITIONS: dict[str, frozenset[str]] = {
    "acknowledged": frozenset({"held", "released"}),
    "declined": frozenset(),
    "held": frozenset({"released"}),
    "released": frozenset(),
}
RECEIVED_ACKNOWLEDGED, RECEIVED_DECLINED = "acknowledged", "declined"  # the two a request is written in

HOLD_TRANSITIONS: dict[str, frozenset[str]] = {
    "holding": frozenset({"held", "released"}),
    "held": frozenset({"released"}),
    "released": frozenset(),
}
HOLD_INITIAL = "holding"


def is_news(sent: SentFreezeRequest, status: str) -> bool:
    """Whether a peer's update moves the request forward (the table lists it); a stale one is not news."""
    return can_move(SENT_TRANSITIONS, sent.status, status)


def transition_sent(sent: SentFreezeRequest, to: str, **changes: Any) -> None:
    """Move a request sent to a peer; the only assignment of its status."""
    move(sent, SENT_TRANSITIONS, to, subject="a sent freeze request", **changes)


def transition_received(received: ReceivedFreezeRequest, to: str, **changes: Any) -> None:
    """Move a request received from a peer; the only assignment of its status."""
    move(received, RECEIVED_TRANSITIONS, to, subject="a received freeze request", **changes)


def transition_hold(hold: PeerHold, to: str, **changes: Any) -> None:
    """Move a hold made for a peer; the only assignment of its status."""
    move(hold, HOLD_TRANSITIONS, to, subject="a peer hold", **changes)
