"""The owner takes a report back ("it was me after all"): closed as a false report, the account stays frozen.

Taking back closes the whole case, the other reporters' and the registered contact's threads with it, so only
the one the case belongs to may do it: a holder who proved the account is theirs, or a holder alone on the case.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from app.db import utcnow
from kernel.errors import Conflict, NotFound
from incidents import audit, ownership
from incidents.models import Incident, Report
from incidents.review_execution import cancel_open_requests
from incidents.states import transition
from incidents.reasons import TAKEN_BACK

FALSE_REPORT = "false_report"


class OthersOnTheCase(Conflict):
    """Others are on the case (another report, another holder who verified): only a verified holder takes it back."""

    slug, title = "others-on-the-case", "Others are on this case"


def may_take_back(session, *, incident_id: uuid.UUID, actor: str, report_id: uuid.UUID | None) -> bool:
    """Whether this holder may close the case as a false report: they passed a verification on it, or nobody else
    is on it (no report but their own, `report_id`; a link bound to no report has none of its own) and no other
    holder passed a verification."""
    if ownership.has_proven_ownership(session, incident_id=incident_id, actor=actor):
        return True
    others = select(Report.id).where(Report.incident_id == incident_id)
    if report_id is not None:
        others = others.where(Report.id != report_id)
    if session.scalar(others.limit(1)) is not None:
        return False
    return not ownership.proven_by_another(session, incident_id=incident_id, actor=actor)


def take_back_report(session, *, incident_id: uuid.UUID, actor: str, report_id: uuid.UUID | None,
                     now: datetime | None = None) -> Incident:
    """Close the open case as a false report and cancel an open unfreeze request; the freeze stays; one commit.

    The freeze is not lifted here: whoever took the report back may be the thief with the owner's link,
    so the account is unfrozen only through a verification and a review, as always. Who may take it back is
    decided under the incident's row lock, so a report attached meanwhile is seen (its insert waits for the lock,
    or the lock for its commit), and after the case's verifications are locked, so a pass committed meanwhile is.
    """
    now = now or utcnow()
    ownership.wait_for_verifications(session, incident_id=incident_id)
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update()
                              .execution_options(populate_existing=True))
    if incident is None:
        raise NotFound("no such incident")
    if not incident.is_open:
        raise Conflict(f"the incident is {incident.status}", status_now=incident.status)
    if not may_take_back(session, incident_id=incident.id, actor=actor, report_id=report_id):
        raise OthersOnTheCase("others are on this case; prove the account is yours (the verification on the case "
                              "page) to take the report back")
    cancel_open_requests(session, incident_id=incident.id, actor=actor, reason=TAKEN_BACK,
                         now=now)
    audit.record(session, actor=actor, action="report.taken_back", subject_type="incident", subject_id=incident.id,
                 incident_id=incident.id, data={"containment": incident.containment}, now=now)
    transition(session, incident, machine="status", to="closed", actor=actor,
               reason="the owner took the report back: a false report", now=now)
    incident.outcome = FALSE_REPORT
    session.commit()
    return incident
