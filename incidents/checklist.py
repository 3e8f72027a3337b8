"""The unfreeze checklist as pure rules: which items the system's own evidence settles, and when it is complete."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kernel.errors import InvalidInput

ITEMS = ("identity_verified", "password_reset", "sessions_revoked", "api_keys_revoked", "two_factor_rebound",
         "transactions_reviewed", "no_new_anomalies")
# Identity is proven by the verification (trusted factors or an officer's manual review), never by an attestation.
SYSTEM_ONLY = frozenset({"identity_verified"})
# The owner's own recovery steps: the exchange's security events tick them by themselves (evidence.gather_facts);
# staff who tick one by hand must write down the evidence they checked, which is stored and shown with the tick.
EVIDENCE_NOTE_REQUIRED = frozenset({"password_reset", "two_factor_rebound"})
# Risk-engine events that are the recovery steps themselves, so they do not count as new anomalies.
RECOVERY_EVENT_TYPES = frozenset({"password_reset", "two_factor_changed"})


@dataclass(frozen=True)
class Facts:
    """What the system knows about a case, gathered from the verification, the outbox, anomalies and traces."""

    identity_verified: bool = False
    sessions_revoked: bool = False
    api_keys_revoked: bool = False
    password_reset: bool = False
    two_factor_rebound: bool = False
    untraced_hashes: int = 0
    anomalies_since_freeze: tuple[datetime, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Attestation:
    """A staff member's word that an item is done."""

    by: str
    at: datetime


@dataclass(frozen=True)
class ItemState:
    """An item's status and whether the system (rather than a person) settled it."""

    item: str
    is_done: bool
    is_auto: bool

    @property
    def status(self) -> str:
        """`done` or `pending`, as the API shows it."""
        return "done" if self.is_done else "pending"


def system_says_done(item: str, facts: Facts) -> bool:
    """Whether the evidence alone shows the item done."""
    if item == "transactions_reviewed":
        return facts.untraced_hashes == 0
    if item == "no_new_anomalies":
        return not facts.anomalies_since_freeze
    return bool(getattr(facts, item))


def attestation_holds(item: str, facts: Facts, attestation: Attestation | None) -> bool:
    """An attestation counts unless the item is system-only or newer evidence contradicts it."""
    if attestation is None or item in SYSTEM_ONLY:
        return False
    if item == "no_new_anomalies":
        # Staff vouch for the anomalies they saw; one arriving after their word reopens the item.
        return all(at <= attestation.at for at in facts.anomalies_since_freeze)
    return True


def evaluate(item: str, facts: Facts, attestation: Attestation | None = None) -> ItemState:
    """The item's state from the evidence first, the attestation second."""
    if system_says_done(item, facts):
        return ItemState(item=item, is_done=True, is_auto=True)
    return ItemState(item=item, is_done=attestation_holds(item, facts, attestation), is_auto=False)


def evaluate_all(facts: Facts, attestations: dict[str, Attestation]) -> list[ItemState]:
    """Every item in the checklist's order."""
    return [evaluate(item, facts, attestations.get(item)) for item in ITEMS]


def missing(states: list[ItemState]) -> list[str]:
    """The items not yet done."""
    return [state.item for state in states if not state.is_done]


def require_evidence_note(item: str, status: str, note: str | None) -> None:
    """Refuse a hand tick of a recovery step without the evidence behind it (422 naming `note`)."""
    if status == "done" and item in EVIDENCE_NOTE_REQUIRED and not (note or "").strip():
        raise InvalidInput("note", f"ticking {item} by hand needs the evidence you checked (the exchange's own "
                                   "security events tick it by themselves)")
