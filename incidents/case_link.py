"""The owner's way back to a case: a fresh private link, sent only to the contacts the exchange has on record."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.models import Incident

# The audit event the sealer turns into an owner message carrying the case link (notifications.OWNER_NOTICES).
CASE_LINK_REQUESTED = "incident.case_link_requested"
OPEN_STATUSES = ("open", "in_progress", "awaiting_user")


def request_case_link(session: Session, *, actor: str, incident_id: uuid.UUID | None = None,
                      account_id: str | None = None, now: datetime | None = None) -> bool:
    """Ask for the case link to go to the account's registered email and phone; one commit.

    By account ID it finds the account's open case. The answer is never shown to the asker (whether a case
    exists stays private); True when a message was queued.
    """
    now = now or utcnow()
    query = select(Incident)
    if incident_id is not None:
        query = query.where(Incident.id == incident_id)
    else:
        query = query.where(Incident.account_id == account_id, Incident.status.in_(OPEN_STATUSES))
    incident = session.scalar(query.order_by(Incident.created_at.desc()).limit(1))
    if incident is None:
        session.rollback()
        return False
    audit.record(session, actor=actor, action=CASE_LINK_REQUESTED, subject_type="incident", subject_id=incident.id,
                 incident_id=incident.id, data={"by_account_id": incident_id is None}, now=now)
    session.commit()
    return True
