"""Factor trust: a factor the attacker may have bound cannot prove the owner (DESIGN.md flow 4)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FACTOR_KINDS = ("totp", "sms")
DEFAULT_TRUST_DAYS = 7
# No crypto-exchange account did anything before Bitcoin's genesis block: an earlier time is a wrong one.
EARLIEST_CREDIBLE = datetime(2009, 1, 1, tzinfo=UTC)
# A trust window longer than this is a misconfiguration, not a reason to overflow.
MAX_TRUST_DAYS = 3650

# Security events that mean a factor changed hands even when its bind time says otherwise.
_CHANGE_EVENTS = {
    "totp": {"two_factor_changed": "two_factor_changed", "two_factor_disabled": "two_factor_changed"},
    "sms": {"phone_changed": "phone_changed", "sim_swap": "sim_swap"},
}


@dataclass(frozen=True)
class SecurityEvent:
    """One account event from the exchange or the risk engine (`kind` as in API.md)."""

    kind: str
    at: datetime | None


@dataclass(frozen=True)
class FactorTrust:
    """Whether a factor may prove the owner, and why not when it may not."""

    kind: str
    trusted: bool
    reason: str | None = None


def assess_factor(kind: str, *, bound_at: datetime | None, is_registered: bool,
                  first_suspicious_at: datetime | None, events: Iterable[SecurityEvent],
                  trust_days: int, now: datetime) -> FactorTrust:
    """Untrusted when bound at/after the first suspicious event, within `trust_days` before it,
    or changed by a recent security event (phone change or SIM swap for SMS)."""
    if not is_registered:
        return FactorTrust(kind, False, "not_registered")
    reference = within_credible(first_suspicious_at or now, now=now)
    cutoff = earlier_by(reference, timedelta(days=min(max(trust_days, 0), MAX_TRUST_DAYS)))
    if bound_at is None:
        # Erring to distrust beats trusting a factor whose history is unknown.
        return FactorTrust(kind, False, "bound_at_unknown")
    if bound_at >= reference:
        return FactorTrust(kind, False, "bound_after_suspicious_event")
    if bound_at >= cutoff:
        return FactorTrust(kind, False, "bound_within_trust_window")
    for event in events:
        reason = _CHANGE_EVENTS.get(kind, {}).get(event.kind)
        if reason and (event.at is None or event.at >= cutoff):
            return FactorTrust(kind, False, reason)
    return FactorTrust(kind, True)


def within_credible(at: datetime, *, now: datetime) -> datetime:
    """A time moved into [2009-01-01, now]: a bad time that reached the database never breaks arithmetic."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return min(max(at, EARLIEST_CREDIBLE), now)


def earlier_by(at: datetime, delta: timedelta) -> datetime:
    """`at - delta`, saturating at the earliest representable time instead of raising OverflowError."""
    floor = datetime.min.replace(tzinfo=UTC)
    return floor if at - floor <= delta else at - delta


def assess_factors(*, factor_bound_at: Mapping[str, datetime | None], registered: Iterable[str],
                   first_suspicious_at: datetime | None, events: Iterable[SecurityEvent | Mapping],
                   trust_days: int = DEFAULT_TRUST_DAYS, now: datetime) -> dict[str, FactorTrust]:
    """Trust for every factor kind the verification needs, keyed by kind."""
    parsed = [as_security_event(event) for event in events]
    present = set(registered)
    return {
        kind: assess_factor(kind, bound_at=factor_bound_at.get(kind), is_registered=kind in present,
                            first_suspicious_at=first_suspicious_at, events=parsed,
                            trust_days=trust_days, now=now)
        for kind in FACTOR_KINDS
    }


def as_security_event(event: SecurityEvent | Mapping) -> SecurityEvent:
    """Accept the exchange's `{"kind", "at"}` dictionaries (or `type`/`occurred_at` anomalies)."""
    if isinstance(event, SecurityEvent):
        return event
    kind = event.get("kind") or event.get("type") or ""
    at = event.get("at") or event.get("occurred_at")
    if isinstance(at, str):
        at = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return SecurityEvent(kind=str(kind), at=at)
