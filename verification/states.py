"""The verification's and its factor checks' status machines, as data, and the one function that moves each."""
from __future__ import annotations

from typing import Any

from kernel.transitions import can_move, move
from verification.models import FactorCheck, Verification

TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"passed", "failed", "expired"}),
    # Untrusted or missing factors: only a risk officer's review ends it.
    "manual_review": frozenset({"passed", "failed"}),
    "passed": frozenset(),
    "failed": frozenset(),
    "expired": frozenset(),
}

OPEN_STATUSES = frozenset({"pending", "manual_review"})
# A verification starts pending, or in manual review when a factor is untrusted or missing.
INITIAL, INITIAL_FOR_REVIEW = "pending", "manual_review"

# One factor of a verification. The authenticator's is locked while the account's code throttle holds (and
# pending again, or passed, once it lapses); an SMS factor fails when its codes are burned by wrong tries,
# which another holder's code may still do after this one passed it while the verification waits for TOTP.
FACTOR_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"passed", "failed", "locked"}),
    "locked": frozenset({"pending", "passed"}),
    "passed": frozenset({"failed"}),
    "failed": frozenset(),
}
FACTOR_INITIAL = "pending"


def can_transition(current: str, to: str) -> bool:
    """Whether `to` may follow `current`."""
    return can_move(TRANSITIONS, current, to)


def transition_verification(verification: Verification, to: str, **changes: Any) -> None:
    """Move a verification (`steps.transition` stamps and audits it); the only assignment of its status."""
    move(verification, TRANSITIONS, to, subject="verification",
         detail="a {current} verification cannot become {to}", **changes)


def transition_factor(check: FactorCheck, to: str, **changes: Any) -> None:
    """Move one factor check; the only assignment of its status."""
    move(check, FACTOR_TRANSITIONS, to, subject=f"the {check.kind} factor", **changes)
