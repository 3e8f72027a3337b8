"""Staff reopen a closed case (say one closed because the exchange answered 404 to its account).

A closed case is final for every other path (the status table lists no move out of `closed`); this is the one
door back (`states.REOPEN_TRANSITIONS`), taken by staff with a reason. If the account was never frozen, the
reopening asks the exchange to freeze it again through the outbox, exactly once however many times the button
is pressed.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exc, select
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict, InvalidInput
from incidents import audit
from incidents.containment import request_freeze
from incidents.conversation.messages import other_open_case
from incidents.models import AuditEvent, ExchangeCommand, Incident
from incidents.queue import get_incident
from incidents.states import reopen_statement
from incidents.reasons import REOPENED_BY_STAFF, with_own_words

REOPENED = "incident.reopened"
REOPENED_STATUS = "in_progress"
MAX_REASON = 2000  # characters: the audit event keeps the reason whole


@dataclass(frozen=True)
class Reopening:
    """The reopened case and the freeze it asked for (None when the account had been frozen before)."""

    incident: Incident
    freeze_command: ExchangeCommand | None


@dataclass(frozen=True)
class ReopenedNote:
    """When and by whom a case was last reopened (the owner's page says so)."""

    at: datetime
    actor: str
    freeze_requested: bool


def reopen_case(session: Session, *, incident_id: uuid.UUID, reason: str, actor: str, sla_hours: int,
                now: datetime | None = None) -> Reopening:
    """Closed → in_progress with a fresh SLA, the outcome cleared, audited; one commit.

    The move is one conditional UPDATE (`WHERE status = 'closed'`), so of two clicks only one reopens; the
    other is told the case is no longer closed (409). A newer open case of the same account wins (409). A blank
    reason, or one longer than `MAX_REASON`, is refused (422) before anything is read.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "must not be blank")
    if len(reason) > MAX_REASON:
        raise InvalidInput("reason", f"is longer than {MAX_REASON} characters")
    now = now or utcnow()
    incident = get_incident(session, incident_id=incident_id)
    if incident.status != "closed":
        raise Conflict(f"the incident is {incident.status}; only a closed case can be reopened",
                       status_now=incident.status)
    newer = other_open_case(session, account_id=incident.account_id, excluding=incident.id)
    if newer is not None:
        raise Conflict("a newer case is open for this account; work there", incident_id=str(newer))
    outcome_before = incident.outcome
    try:
        moved = session.execute(
            reopen_statement(incident.id, to=REOPENED_STATUS, now=now, outcome=None,
                             sla_due_at=now + timedelta(hours=sla_hours))
            .execution_options(synchronize_session=False)).rowcount
    except exc.IntegrityError as error:  # a report opened a case for the account in between
        session.rollback()
        raise Conflict("a newer case is open for this account; work there") from error
    if moved != 1:
        session.rollback()
        raise Conflict("the incident is no longer closed; it was reopened already")
    session.refresh(incident)
    freeze = None
    if incident.frozen_at is None:
        freeze = request_freeze(session, incident, scope="full", actor=actor, now=now,
                                reason=with_own_words(REOPENED_BY_STAFF, reason))
    audit.record(session, actor=actor, action=REOPENED, subject_type="incident", subject_id=incident.id,
                 incident_id=incident.id, now=now,
                 data={"from": "closed", "to": REOPENED_STATUS, "reason": reason, "outcome_before": outcome_before,
                       "freeze_requested": freeze is not None})
    session.commit()
    return Reopening(incident=incident, freeze_command=freeze)


def last_reopening(session: Session, *, incident_id: uuid.UUID) -> ReopenedNote | None:
    """The newest reopening of the case, if it was ever reopened."""
    event = session.scalar(select(AuditEvent).where(AuditEvent.incident_id == incident_id,
                                                    AuditEvent.action == REOPENED)
                           .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(1))
    if event is None:
        return None
    return ReopenedNote(at=event.occurred_at, actor=event.actor,
                        freeze_requested=bool((event.data or {}).get("freeze_requested")))
