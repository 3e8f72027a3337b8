"""The owner takes a report back ("it was me after all"): closed as a false report, the account stays frozen."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from app.db import utcnow
from kernel.errors import Conflict, NotFound
from incidents import audit
from incidents.models import Incident
from incidents.review_execution import cancel_open_requests
from incidents.states import transition

FALSE_REPORT = "false_report"


def take_back_report(session, *, incident_id: uuid.UUID, actor: str, now: datetime | None = None) -> Incident:
    """Close the open case as a false report and cancel an open unfreeze request; the freeze stays; one commit.

    The freeze is not lifted here: whoever took the report back may be the thief with the owner's link,
    so the account is unfrozen only through a verification and a review, as always.
    """
    now = now or utcnow()
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update()
                              .execution_options(populate_existing=True))
    if incident is None:
        raise NotFound("no such incident")
    if not incident.is_open:
        raise Conflict(f"the incident is {incident.status}", status_now=incident.status)
    cancel_open_requests(session, incident_id=incident.id, actor=actor, reason="the owner took the report back",
                         now=now)
    audit.record(session, actor=actor, action="report.taken_back", subject_type="incident", subject_id=incident.id,
                 incident_id=incident.id, data={"containment": incident.containment}, now=now)
    transition(session, incident, machine="status", to="closed", actor=actor,
               reason="the owner took the report back: a false report", now=now)
    incident.outcome = FALSE_REPORT
    session.commit()
    return incident
