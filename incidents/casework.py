"""Staff actions on a case: moving its status, freezing by hand."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict
from incidents.containment import request_freeze
from incidents.models import ExchangeCommand, Incident
from incidents.queue import get_incident
from incidents.review_execution import cancel_open_requests
from incidents.states import TERMINAL_STATUSES, transition
from incidents.reasons import ENDED_BY_STAFF, with_own_words


def change_status(session: Session, *, incident_id: uuid.UUID, to: str, reason: str | None,
                  actor: str, now: datetime | None = None) -> Incident:
    """Move the ticket's status along its transition table; one commit.

    Ending a case (resolved or closed) cancels its open unfreeze request, approved or not: the account stays
    frozen, and an unfreeze already on its way is followed by a new freeze (review.cancel_open_requests).
    """
    now = now or utcnow()
    incident = get_incident(session, incident_id=incident_id)
    transition(session, incident, machine="status", to=to, actor=actor, reason=reason, now=now)
    if to in TERMINAL_STATUSES:
        cancel_open_requests(session, incident_id=incident.id, actor=actor, now=now,
                             reason=with_own_words(ENDED_BY_STAFF.format(status=to), reason))
    session.commit()
    return incident


def freeze_manually(session: Session, *, incident_id: uuid.UUID, scope: str, reason: str,
                    actor: str, now: datetime | None = None) -> ExchangeCommand:
    """Queue a freeze ordered by staff; 409 when the account is already frozen or freezing."""
    incident = get_incident(session, incident_id=incident_id)
    command = request_freeze(session, incident, scope=scope, reason=reason, actor=actor, now=now or utcnow())
    if command is None:
        session.rollback()
        raise Conflict(f"the account is already {incident.containment}", containment=incident.containment)
    session.commit()
    return command
