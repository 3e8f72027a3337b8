"""Containment of an account: the freeze and what goes with it, written to the exchange outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.models import ExchangeCommand, Incident
from incidents.states import transition

FREEZABLE = frozenset({"none", "freeze_failed", "unfrozen"})
# Asked for together with every freeze, so the thief loses every way back in (DESIGN §2 flow 3).
FOLLOW_UPS = ("revoke_sessions", "revoke_api_keys", "cancel_pending_withdrawals", "pull_withdrawals",
              "snapshot_account")


def request_freeze(session: Session, incident: Incident, *, scope: str, reason: str, actor: str,
                   now: datetime | None = None) -> ExchangeCommand | None:
    """Queue a freeze and its follow-ups in the caller's transaction; None if already contained."""
    if incident.containment not in FREEZABLE:
        return None
    now = now or utcnow()
    transition(session, incident, machine="containment", to="freeze_pending", actor=actor,
               reason=reason, now=now)
    freeze = _queue(session, incident, "freeze", {"scope": scope, "reason": reason,
                                                  "reference": incident.reference}, now)
    for action in FOLLOW_UPS:
        _queue(session, incident, action, {"reference": incident.reference}, now)
    audit.record(session, actor=actor, action="exchange.command.queued", subject_type="exchange_command",
                 subject_id=freeze.id, incident_id=incident.id,
                 data={"action": "freeze", "scope": scope, "follow_ups": list(FOLLOW_UPS)}, now=now)
    return freeze


def _queue(session: Session, incident: Incident, action: str, payload: dict, now: datetime) -> ExchangeCommand:
    """Add one outbox row for the incident's account."""
    command = ExchangeCommand(incident_id=incident.id, account_id=incident.account_id, action=action,
                              payload=payload, status="pending", next_attempt_at=now, created_at=now)
    session.add(command)
    return command
