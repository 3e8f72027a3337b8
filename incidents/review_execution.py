"""Carrying out an approved unfreeze: queue its one command once due, settle the request when the exchange
answered, cancel open requests when the owner disowns the case; and the worker's sweeps over them."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit, evidence
from incidents.checklist import missing
from incidents.containment import request_freeze
from incidents.models import (
    OPEN_REQUEST_STATUSES,
    ExchangeCommand,
    Incident,
    UnfreezeExecution,
    UnfreezeRequest,
)
from incidents.outbox.commands import queue_command
from incidents.review_rules import (
    RECHECK_INCOMPLETE,
    REVIEWER,
    ReviewPolicy,
    audit_outcome,
    lock_incident,
    refresh,
)
from incidents.states import transition
from incidents.unfreeze_states import transition_request


def execute_due_unfreezes(session: Session, *, policy: ReviewPolicy, now: datetime | None = None,
                          limit: int = 20) -> list[uuid.UUID]:
    """The worker's sweep: queue the unfreeze of approved requests whose wait is over; the command ids."""
    now = now or utcnow()
    query = (select(UnfreezeRequest).join(Incident, Incident.id == UnfreezeRequest.incident_id)
             .where(UnfreezeRequest.status == "approved", UnfreezeRequest.executes_at <= now,
                    Incident.containment == "frozen")
             .order_by(UnfreezeRequest.executes_at).limit(limit)
             .with_for_update(of=UnfreezeRequest, skip_locked=True))
    queued = []
    for request in list(session.scalars(query)):
        incident = lock_incident(session, request.incident_id)
        command = execute_if_due(session, request, incident, policy, now)
        if command is not None:
            queued.append(command.id)
    session.commit()
    return queued


def settle_unfreezes(session: Session, *, now: datetime | None = None, limit: int = 50) -> int:
    """The worker's sweep: requests whose unfreeze command finished become completed (incident resolved) or
    failed. The recorder settles each as its outcome is written (`settle_command`); the sweep is the backstop."""
    now = now or utcnow()
    query = (select(UnfreezeRequest).join(UnfreezeExecution, UnfreezeExecution.request_id == UnfreezeRequest.id)
             .join(ExchangeCommand, ExchangeCommand.id == UnfreezeExecution.command_id)
             .where(UnfreezeRequest.completed_at.is_(None),
                    UnfreezeRequest.status.in_(("executing", "cancelled")),
                    ExchangeCommand.status.in_(("done", "failed")))
             .limit(limit).with_for_update(of=UnfreezeRequest, skip_locked=True))
    settled = 0
    for request in list(session.scalars(query)):
        settled += settle(session, request, lock_incident(session, request.incident_id), now)
    session.commit()
    return settled


def cancel_open_requests(session: Session, *, incident_id: uuid.UUID, actor: str, reason: str,
                         now: datetime) -> list[UnfreezeRequest]:
    """Cancel the incident's open request in the caller's transaction (an unfreeze already sent refreezes later)."""
    query = (select(UnfreezeRequest).where(UnfreezeRequest.incident_id == incident_id,
                                           UnfreezeRequest.status.in_(OPEN_REQUEST_STATUSES)).with_for_update())
    cancelled = []
    for request in session.scalars(query):
        was = request.status
        transition_request(request, "cancelled", reason=reason, updated_at=now)
        if was != "executing":
            request.completed_at = now
        audit.record(session, actor=actor, action="unfreeze.cancelled", subject_type="unfreeze_request",
                     subject_id=request.id, incident_id=incident_id, now=now, data={"from": was, "reason": reason})
        cancelled.append(request)
    return cancelled


# --- executing and settling --------------------------------------------------------------------------------


def execute_if_due(session: Session, request: UnfreezeRequest, incident: Incident, policy: ReviewPolicy,
                    now: datetime) -> ExchangeCommand | None:
    """Queue the one unfreeze command once approved, complete and past the wait; containment → unfreeze_pending."""
    if request.status != "approved" or now < request.executes_at or incident.containment != "frozen":
        return None
    if missing(refresh(session, request, incident, policy, now)):
        # Evidence went missing after the approvals (a new anomaly, say): look again later, not every tick.
        request.executes_at = max(request.executes_at, now + RECHECK_INCOMPLETE)
        return None
    cooldown = _cooldown_hours(session, request, incident, policy)
    command = queue_command(session, incident, "unfreeze", {
        "reason": f"unfreeze review {request.id} approved", "reference": incident.reference,
        "withdrawal_cooldown_hours": cooldown}, now=now)
    session.add(UnfreezeExecution(request_id=request.id, command_id=command.id, created_at=now))
    transition(session, incident, machine="containment", to="unfreeze_pending", actor=REVIEWER,
               reason=f"unfreeze request {request.id} approved", now=now)
    transition_request(request, "executing", executed_at=now, updated_at=now)
    request.withdrawal_cooldown_hours = cooldown
    audit_outcome(session, request, REVIEWER, "unfreeze.executing",
                   {"command_id": str(command.id), "withdrawal_cooldown_hours": cooldown}, now)
    session.flush()
    return command


def _cooldown_hours(session: Session, request: UnfreezeRequest, incident: Incident, policy: ReviewPolicy) -> int:
    """The exchange's withdrawal hold after the unfreeze: doubled when 2FA was bound anew."""
    rebound = evidence.two_factor_rebound(session, incident, trust_days=policy.trust_days)
    return policy.rebound_cooldown_hours if rebound else policy.cooldown_hours


def settle_command(session: Session, command: ExchangeCommand, incident: Incident | None, now: datetime) -> int:
    """Settle the request of an unfreeze command as its outcome is recorded, in the recorder's transaction, so
    no one reads a resolved case beside a request still `executing`; 1 when something changed."""
    execution = session.scalars(select(UnfreezeExecution).where(UnfreezeExecution.command_id == command.id)).first()
    if execution is None or incident is None:
        return 0
    request = session.get(UnfreezeRequest, execution.request_id, with_for_update=True)
    return settle(session, request, incident, now)


def settle(session: Session, request: UnfreezeRequest, incident: Incident, now: datetime) -> int:
    """Close a request whose unfreeze command finished; 1 when something changed."""
    if request.completed_at is not None or request.status not in ("executing", "cancelled"):
        return 0
    execution = session.get(UnfreezeExecution, request.id)
    command = execution.command if execution is not None else None
    if command is None or command.status not in ("done", "failed"):
        return 0
    request.completed_at, request.updated_at = now, now
    if request.status == "cancelled":
        _refreeze_after_repudiation(session, request, incident, command, now)
    elif command.status == "failed":
        transition_request(request, "failed", reason=command.last_error)
        audit_outcome(session, request, REVIEWER, "unfreeze.failed", {"error": command.last_error}, now)
    else:
        transition_request(request, "completed")
        audit_outcome(session, request, REVIEWER, "unfreeze.completed", {"command_id": str(command.id)}, now)
        if incident.is_open and incident.containment == "unfrozen":
            transition(session, incident, machine="status", to="resolved", actor=REVIEWER,
                       reason=f"unfreeze request {request.id} carried out", now=now)
    return 1


def _refreeze_after_repudiation(session: Session, request: UnfreezeRequest, incident: Incident,
                                command: ExchangeCommand, now: datetime) -> None:
    """The owner disowned the case while the unfreeze was on its way: freeze again once it landed."""
    if command.status == "done":
        request_freeze(session, incident, scope="full", reason="the owner disowned a notice during the unfreeze",
                       actor=REVIEWER, now=now)
