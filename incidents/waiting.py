"""While a case waits for the owner (待反馈): its SLA clock stands still, reminders go out, a silent case closes."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.conversation.models import Message
from incidents.models import Incident

WAITING = "awaiting_user"


def waiting_changes(incident: Incident, current: str, to: str, now: datetime) -> dict[str, Any]:
    """The columns a status move sets for the wait: it starts the pause, and leaving it moves the deadline on."""
    if to == WAITING and current != WAITING:
        return {"awaiting_since": now, "reminders_sent": 0}
    if current == WAITING and to != WAITING:
        changes: dict[str, Any] = {"awaiting_since": None, "reminders_sent": 0}
        if incident.awaiting_since is not None:
            changes["sla_due_at"] = incident.sla_due_at + (now - incident.awaiting_since)
        return changes
    return {}


def _waiting_thread(session: Session, incident_id: uuid.UUID) -> str | None:
    """The report whose thread holds the newest question waiting for an answer (None: the registered contact's
    thread), so that the reminder goes where the question can be read."""
    report_id = session.scalar(select(Message.report_id).where(
        Message.incident_id == incident_id, Message.author == "staff", Message.awaiting_reply.is_(True),
        Message.visibility == "public").order_by(Message.created_at.desc()).limit(1))
    return str(report_id) if report_id else None


REMINDER_AFTER = (timedelta(hours=24), timedelta(hours=72))
# A case whose account is still held never closes by itself: the owner may be locked out of every channel.
HELD = frozenset({"freeze_pending", "frozen", "freeze_failed", "unfreeze_pending"})


@dataclass(frozen=True)
class WaitingSweep:
    """What one sweep did."""

    reminded: list[uuid.UUID] = field(default_factory=list)
    closed: list[uuid.UUID] = field(default_factory=list)


def sweep_waiting(session: Session, *, close_after: timedelta, now: datetime | None = None,
                  limit: int = 100) -> WaitingSweep:
    """Remind owners at 24 h and 72 h of waiting; close a silent case whose account is not frozen; one commit."""
    from incidents.states import transition

    now = now or utcnow()
    query = (select(Incident).where(Incident.status == WAITING, Incident.awaiting_since.is_not(None))
             .order_by(Incident.awaiting_since).limit(limit).with_for_update(skip_locked=True))
    sweep = WaitingSweep()
    for incident in list(session.scalars(query)):
        waited = now - incident.awaiting_since
        if waited >= close_after and incident.containment not in HELD:
            transition(session, incident, machine="status", to="closed", actor="waiting-clock", now=now,
                       reason=f"no answer from the owner for {close_after.days} days")
            sweep.closed.append(incident.id)
        elif incident.reminders_sent < len(REMINDER_AFTER) and waited >= REMINDER_AFTER[incident.reminders_sent]:
            incident.reminders_sent += 1
            audit.record(session, actor="waiting-clock", action="incident.owner_reminded", subject_type="incident",
                         subject_id=incident.id, incident_id=incident.id, now=now,
                         data={"reminder": incident.reminders_sent, "awaiting_since": incident.awaiting_since.isoformat(),
                               "report_id": _waiting_thread(session, incident.id)})
            sweep.reminded.append(incident.id)
    session.commit()
    return sweep
