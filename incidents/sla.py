"""SLA clocks: the worker's sweep finds open incidents past their deadline and escalates each once."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.models import OPEN_STATUSES, Incident, SlaEscalation

ESCALATION_QUEUE = "risk"
# The clock stands still while the case waits for the owner (awaiting_user); leaving the wait moves the deadline.
CLOCKED_STATUSES = tuple(status for status in OPEN_STATUSES if status != "awaiting_user")


@dataclass(frozen=True)
class SlaSweep:
    """The incidents escalated by one sweep."""

    escalated: list[uuid.UUID] = field(default_factory=list)


def sweep_sla(session: Session, *, now: datetime | None = None, limit: int = 100) -> SlaSweep:
    """Escalate open incidents past their SLA deadline: audit event, risk queue; one commit.

    The audit event is what notifies: the risk queue's mail and the outbound webhook are written
    from it in the same transaction. The escalation row's key makes each breach count once.
    """
    now = now or utcnow()
    query = (select(Incident).outerjoin(SlaEscalation, SlaEscalation.incident_id == Incident.id)
             .where(Incident.status.in_(CLOCKED_STATUSES), Incident.sla_due_at <= now, SlaEscalation.incident_id.is_(None))
             .order_by(Incident.sla_due_at).limit(limit).with_for_update(of=Incident, skip_locked=True))
    escalated = []
    for incident in list(session.scalars(query)):
        _escalate(session, incident, now)
        escalated.append(incident.id)
    session.commit()
    return SlaSweep(escalated=escalated)


def _escalate(session: Session, incident: Incident, now: datetime) -> None:
    """Record the breach once and move the case to the risk queue."""
    session.add(SlaEscalation(incident_id=incident.id, sla_due_at=incident.sla_due_at, escalated_at=now))
    previous_queue, incident.queue = incident.queue, ESCALATION_QUEUE
    audit.record(session, actor="sla-clock", action="incident.sla_breached", subject_type="incident",
                 subject_id=incident.id, incident_id=incident.id, now=now,
                 data={"sla_due_at": incident.sla_due_at.isoformat(), "overdue_seconds":
                       int((now - incident.sla_due_at).total_seconds()), "queue_before": previous_queue,
                       "queue": ESCALATION_QUEUE})
