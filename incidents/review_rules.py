"""The unfreeze review's rules: its policy, loading and locking, judging the evidence, who may decide and how a
decision is recorded. The use cases are in incidents.review; executing and settling in incidents.review_execution."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incidents import audit, evidence
from incidents.approvals import DECIDING_ROLES, CaseRoles, RiskFacts, Thresholds, approvals_required, refusal
from incidents.checklist import Attestation, ItemState, evaluate_all
from incidents.exchange.port import MAX_COOLDOWN_HOURS
from incidents.models import (
    OPEN_REQUEST_STATUSES,
    AuditEvent,
    Incident,
    Staff,
    UnfreezeChecklistItem,
    UnfreezeDecision,
    UnfreezeRequest,
)
from incidents.queue import REQUEST_CURSOR, cursor_values
from incidents.unfreeze_states import transition_item, transition_request
from kernel.errors import Conflict, NotFound
from verification.models import Verification

REVIEWER = "unfreeze-review"
DECISIONS = ("approve", "reject")
RECHECK_INCOMPLETE = timedelta(minutes=1)
REQUEST_STATUSES = (*OPEN_REQUEST_STATUSES, "completed", "rejected", "failed", "cancelled")


@dataclass(frozen=True)
class ReviewPolicy:
    """The numbers of the review (HIGH_RISK_SCORE, HIGH_LOSS_AMOUNT, UNFREEZE_MIN_WAIT_MINUTES, …)."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    min_wait: timedelta = timedelta(minutes=120)
    cooldown_hours: int = 24
    trust_days: int = 7

    def __post_init__(self):
        """Refuse numbers the review could not honour, when the settings are read rather than at an unfreeze."""
        if not 0 <= self.rebound_cooldown_hours <= MAX_COOLDOWN_HOURS:
            raise ValueError(f"WITHDRAWAL_COOLDOWN_HOURS must be from 0 to {MAX_COOLDOWN_HOURS // 2}: the hold "
                             f"after 2FA was bound anew is twice as long and the exchange takes at most "
                             f"{MAX_COOLDOWN_HOURS} hours")
        if self.min_wait < timedelta(0):
            raise ValueError("UNFREEZE_MIN_WAIT_MINUTES must not be negative")
        if self.trust_days < 0:
            raise ValueError("FACTOR_TRUST_DAYS must not be negative")

    @property
    def rebound_cooldown_hours(self) -> int:
        """The longer hold after 2FA was bound anew (48 h for the default 24 h)."""
        return self.cooldown_hours * 2


# --- loading and locking ------------------------------------------------------------------------------------


def get_request(session: Session, request_id: uuid.UUID) -> UnfreezeRequest:
    """A request by id, or NotFound."""
    request = session.get(UnfreezeRequest, request_id)
    if request is None:
        raise NotFound("no such unfreeze request")
    return request


def lock_request(session: Session, request_id: uuid.UUID) -> UnfreezeRequest:
    """The request row, locked and read fresh, so decisions on it run one at a time."""
    return _locked(session, UnfreezeRequest, request_id, "no such unfreeze request")


def lock_incident(session: Session, incident_id: uuid.UUID) -> Incident:
    """The incident row, locked and read fresh (always after its request's row: one lock order)."""
    return _locked(session, Incident, incident_id, "no such incident")


def _locked(session: Session, model, row_id: uuid.UUID, missing: str):
    """One row by id, locked FOR UPDATE and read fresh, or NotFound."""
    query = select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        raise NotFound(missing)
    return row


def open_request_of(session: Session, incident_id: uuid.UUID) -> UnfreezeRequest | None:
    """The incident's open request, if any."""
    return session.scalar(select(UnfreezeRequest).where(UnfreezeRequest.incident_id == incident_id,
                                                        UnfreezeRequest.status.in_(OPEN_REQUEST_STATUSES)))


def passed_verification(session: Session, incident_id: uuid.UUID, *, started_by: str) -> Verification | None:
    """The newest verification this reporter passed on the incident (another reporter's proof is not theirs)."""
    query = (select(Verification).where(Verification.incident_id == incident_id, Verification.status == "passed",
                                        Verification.started_by == started_by)
             .order_by(Verification.passed_at.desc()).limit(1))
    return session.scalar(query)


def flush_or_conflict(session: Session, message: str) -> None:
    """Flush; a unique key that refuses the write is a 409, never a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(message) from exc


def read_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (SLA due time, request id) a cursor points after (the queue's encoding, with a UUID second)."""
    due, request_id = cursor_values(cursor, REQUEST_CURSOR)
    return due, uuid.UUID(request_id)


# --- judging the evidence ---------------------------------------------------------------------------------


def refresh(session: Session, request: UnfreezeRequest, incident: Incident, policy: ReviewPolicy,
             now: datetime) -> list[ItemState]:
    """Re-judge the checklist and the approvals needed (which only ever go up); no commit."""
    verification = session.get(Verification, request.verification_id) if request.verification_id else None
    facts = evidence.gather_facts(session, incident, verification)
    attestations = {row.item: Attestation(by=row.attested_by, at=row.attested_at)
                    for row in request.items if row.attested_at is not None}
    states = evaluate_all(facts, attestations)
    rows = {row.item: row for row in request.items}
    for state in states:
        _apply(rows[state.item], state, now)
    risk = RiskFacts(risk_score=incident.risk_score or 0, reported_loss=incident.reported_loss,
                     has_untrusted_factor=evidence.has_untrusted_factor(verification))
    request.approvals_required = max(request.approvals_required or 1, approvals_required(risk, policy.thresholds))
    request.executes_at = max(request.executes_at, earliest_execution(incident, policy, now))
    return states


def _apply(row: UnfreezeChecklistItem, state: ItemState, now: datetime) -> None:
    """Store an item's judged state, stamping who and when only when it changes; its status moves only when the
    judgement flips (done on other grounds, say attested and then shown by the system's own evidence, is a new
    stamp, not a move)."""
    if state.is_done and state.is_auto:
        stamps = {"is_auto": True, "by": "system", "at": row.at if row.status == "done" and row.is_auto else now}
    elif state.is_done:
        stamps = {"is_auto": False, "by": row.attested_by, "at": row.attested_at}
    else:
        stamps = {"is_auto": False, "by": None, "at": None}
    to = "done" if state.is_done else "pending"
    if row.status != to:
        transition_item(row, to, **stamps)
        return
    for column, value in stamps.items():
        setattr(row, column, value)


def earliest_execution(incident: Incident, policy: ReviewPolicy, now: datetime) -> datetime:
    """No unfreeze earlier than the freeze time plus the minimum wait."""
    return (incident.frozen_at or now) + policy.min_wait


# --- deciding and executing -------------------------------------------------------------------------------


def check_may_decide(session: Session, request: UnfreezeRequest, officer: Staff, decision: str) -> None:
    """409 when the request is no longer open for decisions; 403/409 by segregation of duties."""
    if request.status != "pending":
        raise Conflict(f"the request is {request.status}; it takes no more decisions", status_now=request.status)
    roles = CaseRoles(raised_by=request.raised_by,
                      deciders=frozenset(decision.officer_id for decision in request.decisions),
                      case_workers=frozenset(_case_workers(session, request)))
    error = refusal(officer_id=officer.id, role=officer.role, decision=decision, roles=roles)
    if error is not None:
        raise error


def decision_standing(session: Session, *, request: UnfreezeRequest, staff_id: uuid.UUID, role: str) -> str:
    """What this staff member may do on the request, told before they click (the rules of `refusal`):
    `closed`, `not_officer`, `decided`, `raised` or `worked` (may only reject), `may_decide`."""
    if request.status != "pending":
        return "closed"
    if role not in DECIDING_ROLES:
        return "not_officer"
    if any(decision.officer_id == staff_id for decision in request.decisions):
        return "decided"
    if request.raised_by == f"staff:{staff_id}":
        return "raised"
    if staff_id in _case_workers(session, request):
        return "worked"
    return "may_decide"


def _case_workers(session: Session, request: UnfreezeRequest) -> set[uuid.UUID]:
    """Staff who worked the case as its agent: the assignee, and whoever moved its status or attested an item."""
    workers = {request.incident.assignee_id} - {None}
    actors = session.scalars(select(AuditEvent.actor).where(
        AuditEvent.incident_id == request.incident_id, AuditEvent.actor.like("staff:%"),
        or_(AuditEvent.action.like("incident.status.%"), AuditEvent.action == "unfreeze.checklist.attested")))
    workers |= {_staff_id(actor) for actor in actors} - {None}
    workers |= {_staff_id(row.attested_by) for row in request.items if row.attested_by} - {None}
    return workers


def _staff_id(actor: str) -> uuid.UUID | None:
    """The staff id in an audit actor such as `staff:<uuid>`."""
    kind, _, value = actor.partition(":")
    try:
        return uuid.UUID(value) if kind == "staff" else None
    except ValueError:
        return None


def record_decision(session: Session, request: UnfreezeRequest, officer: Staff, decision: str, reason: str,
                     now: datetime) -> None:
    """Store the decision; a rejection closes the request, the last approval needed approves it."""
    actor = f"staff:{officer.id}"
    request.decisions.append(UnfreezeDecision(officer_id=officer.id, decision=decision, reason=reason,
                                              decided_at=now))
    request.updated_at = now
    audit.record(session, actor=actor, action="unfreeze.decision.recorded", subject_type="unfreeze_request",
                 subject_id=request.id, incident_id=request.incident_id, now=now,
                 data={"decision": decision, "reason": reason, "approvals": request.approvals,
                       "approvals_required": request.approvals_required})
    if decision == "reject":
        transition_request(request, "rejected", reason=reason, decided_at=now)
        audit_outcome(session, request, actor, "unfreeze.rejected", {"reason": reason}, now)
    elif request.approvals >= request.approvals_required:
        transition_request(request, "approved", decided_at=now)
        audit_outcome(session, request, actor, "unfreeze.approved",
                       {"executes_at": request.executes_at.isoformat()}, now)


def audit_outcome(session: Session, request: UnfreezeRequest, actor: str, action: str, data: dict,
                   now: datetime) -> None:
    """An event about the request's outcome."""
    audit.record(session, actor=actor, action=action, subject_type="unfreeze_request", subject_id=request.id,
                 incident_id=request.incident_id, data=data, now=now)
