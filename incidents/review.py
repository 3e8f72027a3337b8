"""Unfreeze review use cases: raise, read, attest, decide, execute when due, settle when the exchange answers.

The checklist and the approvals are re-judged from the evidence every time a request is read or
decided. The unfreeze itself goes through the exchange outbox exactly once: the request row is
locked (FOR UPDATE on PostgreSQL, SQLite serialises writers), the containment moves
frozen → unfreeze_pending in the same transaction, and `unfreeze_executions` holds one command per
request under two unique keys.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import Conflict, InvalidInput, NotFound, utcnow
from incidents import audit, evidence
from incidents.approvals import DECIDING_ROLES, CaseRoles, RiskFacts, Thresholds, approvals_required, refusal
from incidents.checklist import (
    ITEMS,
    SYSTEM_ONLY,
    Attestation,
    ItemState,
    evaluate_all,
    missing,
    require_evidence_note,
)
from incidents.containment import request_freeze
from incidents.exchange.port import MAX_COOLDOWN_HOURS
from incidents.models import (
    OPEN_REQUEST_STATUSES,
    AuditEvent,
    ExchangeCommand,
    Incident,
    Staff,
    UnfreezeChecklistItem,
    UnfreezeDecision,
    UnfreezeExecution,
    UnfreezeRequest,
)
from incidents.queue import REQUEST_CURSOR, Page, cursor_values, encode_cursor
from incidents.states import mark_in_progress, transition
from verification import service as verification_service
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


def raise_unfreeze_request(session: Session, *, incident_id: uuid.UUID, actor: str, policy: ReviewPolicy,
                           now: datetime | None = None) -> UnfreezeRequest:
    """The owner asks for the unfreeze: only for a frozen account after a passed verification; one commit."""
    now = now or utcnow()
    incident = _lock_incident(session, incident_id)
    if not incident.is_open:
        raise Conflict(f"the incident is {incident.status}", status_now=incident.status)
    if incident.containment != "frozen":
        raise Conflict(f"the account is not frozen (containment is {incident.containment})",
                       containment=incident.containment)
    verification = _passed_verification(session, incident.id, started_by=actor)
    if verification is None:
        raise Conflict("the owner's verification has not passed; verify first")
    existing = _open_request_of(session, incident.id)
    if existing is not None:
        raise Conflict("an unfreeze request is already open for this incident", request_id=str(existing.id))
    request = UnfreezeRequest(id=uuid.uuid4(), incident_id=incident.id, verification_id=verification.id,
                              status="pending", raised_by=actor, approvals_required=1,
                              executes_at=_earliest_execution(incident, policy, now), created_at=now, updated_at=now)
    request.items = [UnfreezeChecklistItem(item=item, position=index) for index, item in enumerate(ITEMS)]
    session.add(request)
    states = _refresh(session, request, incident, policy, now)
    _flush_or_conflict(session, "an unfreeze request is already open for this incident")
    mark_in_progress(session, incident, actor=actor, reason="the owner asked for the unfreeze", now=now)
    audit.record(session, actor=actor, action="unfreeze.requested", subject_type="unfreeze_request",
                 subject_id=request.id, incident_id=incident.id, now=now,
                 data={"approvals_required": request.approvals_required,
                       "executes_at": request.executes_at.isoformat(),
                       "checklist": {state.item: state.status for state in states}})
    session.commit()
    return request


def get_unfreeze_request(session: Session, *, request_id: uuid.UUID, policy: ReviewPolicy,
                         now: datetime | None = None) -> UnfreezeRequest:
    """A request with its checklist re-judged from the evidence (and settled if the exchange answered)."""
    now = now or utcnow()
    request = _lock_request(session, request_id)
    incident = _lock_incident(session, request.incident_id)
    if request.status in ("pending", "approved"):
        _refresh(session, request, incident, policy, now)
    _settle(session, request, incident, now)
    session.commit()
    return request


def belongs_to(session: Session, *, request_id: uuid.UUID, incident_id: uuid.UUID | None) -> bool:
    """Whether the request is one of this incident's (a reporter sees only its own)."""
    return session.scalar(select(UnfreezeRequest.incident_id).where(UnfreezeRequest.id == request_id)) == incident_id


def current_request(session: Session, *, incident_id: uuid.UUID, policy: ReviewPolicy,
                    now: datetime | None = None) -> UnfreezeRequest | None:
    """The incident's newest request, re-judged in the caller's transaction (nothing committed)."""
    query = (select(UnfreezeRequest).where(UnfreezeRequest.incident_id == incident_id)
             .order_by(UnfreezeRequest.created_at.desc()).limit(1))
    request = session.scalar(query)
    if request is not None and request.status in ("pending", "approved"):
        _refresh(session, request, request.incident, policy, now or utcnow())
    return request


def list_unfreeze_requests(session: Session, *, status: str | None = None, limit: int = 50,
                           cursor: str | None = None) -> Page:
    """Requests in SLA order of their incidents (keyset pagination)."""
    query = select(UnfreezeRequest, Incident.sla_due_at).join(Incident, Incident.id == UnfreezeRequest.incident_id)
    if status is not None:
        query = query.where(UnfreezeRequest.status == status)
    if cursor:
        due, request_id = _read_cursor(cursor)
        query = query.where(or_(Incident.sla_due_at > due,
                                and_(Incident.sla_due_at == due, UnfreezeRequest.id > request_id)))
    rows = session.execute(query.order_by(Incident.sla_due_at, UnfreezeRequest.id).limit(limit + 1)).all()
    items = [row[0] for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor([rows[limit - 1][1], items[-1].id])
    return Page(items=items, next_cursor=next_cursor)


def attest_checklist_item(session: Session, *, request_id: uuid.UUID, item: str, status: str, note: str | None,
                          actor: str, policy: ReviewPolicy, now: datetime | None = None) -> UnfreezeRequest:
    """Staff vouch for (or withdraw their word on) an item the system cannot settle; one commit."""
    now = now or utcnow()
    if item not in ITEMS:
        raise NotFound(f"no checklist item {item}")
    if item in SYSTEM_ONLY:
        raise Conflict(f"{item} is settled by the owner's verification (or an officer's manual review) only")
    require_evidence_note(item, status, note)
    request = _lock_request(session, request_id)
    if request.status not in ("pending", "approved"):
        raise Conflict(f"the request is {request.status}", status_now=request.status)
    row = next(row for row in request.items if row.item == item)
    is_done = status == "done"
    row.attested_by, row.attested_at, row.note = (actor, now, note) if is_done else (None, None, note)
    audit.record(session, actor=actor, action="unfreeze.checklist.attested", subject_type="unfreeze_request",
                 subject_id=request.id, incident_id=request.incident_id, now=now,
                 data={"item": item, "status": status, "note": note})
    incident = _lock_incident(session, request.incident_id)
    mark_in_progress(session, incident, actor=actor, reason="staff worked the unfreeze checklist", now=now)
    _refresh(session, request, incident, policy, now)
    _execute_if_due(session, request, incident, policy, now)
    session.commit()
    return request


def decide_unfreeze_request(session: Session, *, request_id: uuid.UUID, officer_id: uuid.UUID, decision: str,
                            reason: str, totp: str, policy: ReviewPolicy,
                            now: datetime | None = None) -> UnfreezeRequest:
    """A risk officer approves or rejects, with a reason and their own current TOTP code (step-up).

    The step-up check commits its own replay and lock memory first (a refused code must stay
    counted); the decision is then taken under the request's row lock and committed once.
    """
    now = now or utcnow()
    if decision not in DECISIONS:
        raise InvalidInput("decision", "must be 'approve' or 'reject'")
    officer = session.get(Staff, officer_id)
    if officer is None or not officer.is_active:
        raise NotFound("no such staff member")
    _check_may_decide(session, _get_request(session, request_id), officer, decision)
    verification_service.check_staff_totp(session, staff_id=officer.id, code=totp, audit=audit.record, now=now)
    session.expire_all()
    request = _lock_request(session, request_id)
    incident = _lock_incident(session, request.incident_id)
    _check_may_decide(session, request, officer, decision)
    states = _refresh(session, request, incident, policy, now)
    if decision == "approve" and missing(states):
        session.commit()
        raise Conflict("the checklist is not complete", missing=missing(states))
    _record_decision(session, request, officer, decision, reason, now)
    mark_in_progress(session, incident, actor=f"staff:{officer.id}", reason="a risk officer decided the unfreeze",
                     now=now)
    _execute_if_due(session, request, incident, policy, now)
    _flush_or_conflict(session, "you have already decided this request")
    session.commit()
    return request


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
        incident = _lock_incident(session, request.incident_id)
        command = _execute_if_due(session, request, incident, policy, now)
        if command is not None:
            queued.append(command.id)
    session.commit()
    return queued


def settle_unfreezes(session: Session, *, now: datetime | None = None, limit: int = 50) -> int:
    """The worker's sweep: requests whose unfreeze command finished become completed (incident resolved) or failed."""
    now = now or utcnow()
    query = (select(UnfreezeRequest).join(UnfreezeExecution, UnfreezeExecution.request_id == UnfreezeRequest.id)
             .join(ExchangeCommand, ExchangeCommand.id == UnfreezeExecution.command_id)
             .where(UnfreezeRequest.completed_at.is_(None),
                    UnfreezeRequest.status.in_(("executing", "cancelled")),
                    ExchangeCommand.status.in_(("done", "failed")))
             .limit(limit).with_for_update(of=UnfreezeRequest, skip_locked=True))
    settled = 0
    for request in list(session.scalars(query)):
        settled += _settle(session, request, _lock_incident(session, request.incident_id), now)
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
        request.status, request.reason, request.updated_at = "cancelled", reason, now
        if was != "executing":
            request.completed_at = now
        audit.record(session, actor=actor, action="unfreeze.cancelled", subject_type="unfreeze_request",
                     subject_id=request.id, incident_id=incident_id, now=now, data={"from": was, "reason": reason})
        cancelled.append(request)
    return cancelled


# --- loading and locking ------------------------------------------------------------------------------------


def _get_request(session: Session, request_id: uuid.UUID) -> UnfreezeRequest:
    """A request by id, or NotFound."""
    request = session.get(UnfreezeRequest, request_id)
    if request is None:
        raise NotFound("no such unfreeze request")
    return request


def _lock_request(session: Session, request_id: uuid.UUID) -> UnfreezeRequest:
    """The request row, locked and read fresh, so decisions on it run one at a time."""
    return _locked(session, UnfreezeRequest, request_id, "no such unfreeze request")


def _lock_incident(session: Session, incident_id: uuid.UUID) -> Incident:
    """The incident row, locked and read fresh (always after its request's row: one lock order)."""
    return _locked(session, Incident, incident_id, "no such incident")


def _locked(session: Session, model, row_id: uuid.UUID, missing: str):
    """One row by id, locked FOR UPDATE and read fresh, or NotFound."""
    query = select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    row = session.scalar(query)
    if row is None:
        raise NotFound(missing)
    return row


def _open_request_of(session: Session, incident_id: uuid.UUID) -> UnfreezeRequest | None:
    """The incident's open request, if any."""
    return session.scalar(select(UnfreezeRequest).where(UnfreezeRequest.incident_id == incident_id,
                                                        UnfreezeRequest.status.in_(OPEN_REQUEST_STATUSES)))


def _passed_verification(session: Session, incident_id: uuid.UUID, *, started_by: str) -> Verification | None:
    """The newest verification this reporter passed on the incident (another reporter's proof is not theirs)."""
    query = (select(Verification).where(Verification.incident_id == incident_id, Verification.status == "passed",
                                        Verification.started_by == started_by)
             .order_by(Verification.passed_at.desc()).limit(1))
    return session.scalar(query)


def _flush_or_conflict(session: Session, message: str) -> None:
    """Flush; a unique key that refuses the write is a 409, never a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(message) from exc


def _read_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (SLA due time, request id) a cursor points after (the queue's encoding, with a UUID second)."""
    due, request_id = cursor_values(cursor, REQUEST_CURSOR)
    return due, uuid.UUID(request_id)


# --- judging the evidence ---------------------------------------------------------------------------------


def _refresh(session: Session, request: UnfreezeRequest, incident: Incident, policy: ReviewPolicy,
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
    request.executes_at = max(request.executes_at, _earliest_execution(incident, policy, now))
    return states


def _apply(row: UnfreezeChecklistItem, state: ItemState, now: datetime) -> None:
    """Store an item's judged state, stamping who and when only when it changes."""
    if state.is_done and state.is_auto:
        if not (row.status == "done" and row.is_auto):
            row.status, row.is_auto, row.by, row.at = "done", True, "system", now
    elif state.is_done:
        row.status, row.is_auto, row.by, row.at = "done", False, row.attested_by, row.attested_at
    elif row.status != "pending" or row.by is not None:
        row.status, row.is_auto, row.by, row.at = "pending", False, None, None


def _earliest_execution(incident: Incident, policy: ReviewPolicy, now: datetime) -> datetime:
    """No unfreeze earlier than the freeze time plus the minimum wait."""
    return (incident.frozen_at or now) + policy.min_wait


# --- deciding and executing -------------------------------------------------------------------------------


def _check_may_decide(session: Session, request: UnfreezeRequest, officer: Staff, decision: str) -> None:
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


def _record_decision(session: Session, request: UnfreezeRequest, officer: Staff, decision: str, reason: str,
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
        request.status, request.reason, request.decided_at = "rejected", reason, now
        _audit_outcome(session, request, actor, "unfreeze.rejected", {"reason": reason}, now)
    elif request.approvals >= request.approvals_required:
        request.status, request.decided_at = "approved", now
        _audit_outcome(session, request, actor, "unfreeze.approved",
                       {"executes_at": request.executes_at.isoformat()}, now)


def _audit_outcome(session: Session, request: UnfreezeRequest, actor: str, action: str, data: dict,
                   now: datetime) -> None:
    """An event about the request's outcome."""
    audit.record(session, actor=actor, action=action, subject_type="unfreeze_request", subject_id=request.id,
                 incident_id=request.incident_id, data=data, now=now)


def _execute_if_due(session: Session, request: UnfreezeRequest, incident: Incident, policy: ReviewPolicy,
                    now: datetime) -> ExchangeCommand | None:
    """Queue the one unfreeze command once approved, complete and past the wait; containment → unfreeze_pending."""
    if request.status != "approved" or now < request.executes_at or incident.containment != "frozen":
        return None
    if missing(_refresh(session, request, incident, policy, now)):
        # Evidence went missing after the approvals (a new anomaly, say): look again later, not every tick.
        request.executes_at = max(request.executes_at, now + RECHECK_INCOMPLETE)
        return None
    cooldown = _cooldown_hours(session, request, incident, policy)
    command = ExchangeCommand(id=uuid.uuid4(), incident_id=incident.id, account_id=incident.account_id,
                              action="unfreeze", status="pending", next_attempt_at=now, created_at=now,
                              payload={"reason": f"unfreeze review {request.id} approved",
                                       "reference": incident.reference, "withdrawal_cooldown_hours": cooldown})
    session.add(command)
    session.add(UnfreezeExecution(request_id=request.id, command_id=command.id, created_at=now))
    transition(session, incident, machine="containment", to="unfreeze_pending", actor=REVIEWER,
               reason=f"unfreeze request {request.id} approved", now=now)
    request.status, request.executed_at, request.updated_at = "executing", now, now
    request.withdrawal_cooldown_hours = cooldown
    _audit_outcome(session, request, REVIEWER, "unfreeze.executing",
                   {"command_id": str(command.id), "withdrawal_cooldown_hours": cooldown}, now)
    session.flush()
    return command


def _cooldown_hours(session: Session, request: UnfreezeRequest, incident: Incident, policy: ReviewPolicy) -> int:
    """The exchange's withdrawal hold after the unfreeze: doubled when 2FA was bound anew."""
    rebound = evidence.two_factor_rebound(session, incident, trust_days=policy.trust_days)
    return policy.rebound_cooldown_hours if rebound else policy.cooldown_hours


def _settle(session: Session, request: UnfreezeRequest, incident: Incident, now: datetime) -> int:
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
        request.status, request.reason = "failed", command.last_error
        _audit_outcome(session, request, REVIEWER, "unfreeze.failed", {"error": command.last_error}, now)
    else:
        request.status = "completed"
        _audit_outcome(session, request, REVIEWER, "unfreeze.completed", {"command_id": str(command.id)}, now)
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
