"""Unfreeze review use cases: raise, read, attest, decide; one commit each (see decide for the step-up's own).

The checklist and the approvals are re-judged from the evidence every time a request is read or
decided. The unfreeze itself goes through the exchange outbox exactly once (incidents.review_execution):
the request row is locked (FOR UPDATE on PostgreSQL, SQLite serialises writers), the containment moves
frozen → unfreeze_pending in the same transaction, and `unfreeze_executions` holds one command per
request under two unique keys. The request's states are incidents.unfreeze_states.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents import audit
from incidents.checklist import ITEMS, SYSTEM_ONLY, missing, require_evidence_note
from incidents.models import Incident, Staff, UnfreezeChecklistItem, UnfreezeRequest
from incidents.queue import Page, encode_cursor
from incidents.review_execution import execute_if_due
from incidents.review_rules import (
    DECISIONS,
    ReviewPolicy,
    check_may_decide,
    earliest_execution,
    flush_or_conflict,
    get_request,
    lock_incident,
    lock_request,
    open_request_of,
    passed_verification,
    read_cursor,
    record_decision,
    refresh,
)

# Re-exported: callers (the API, the console, the periodic jobs, tests) import these through incidents.review.
from incidents.review_execution import execute_due_unfreezes, settle_unfreezes  # noqa: F401
from incidents.review_rules import RECHECK_INCOMPLETE, REQUEST_STATUSES, decision_standing  # noqa: F401
from incidents.states import mark_in_progress
from incidents.unfreeze_states import ITEM_INITIAL, REQUEST_INITIAL
from kernel.errors import Conflict, InvalidInput, NotFound
from verification import service as verification_service
from incidents import reasons


def raise_unfreeze_request(session: Session, *, incident_id: uuid.UUID, actor: str, policy: ReviewPolicy,
                           now: datetime | None = None) -> UnfreezeRequest:
    """The owner asks for the unfreeze: only for a frozen account after a passed verification; one commit."""
    now = now or utcnow()
    incident = lock_incident(session, incident_id)
    if not incident.is_open:
        raise Conflict(f"the incident is {incident.status}", status_now=incident.status)
    if incident.containment != "frozen":
        raise Conflict(f"the account is not frozen (containment is {incident.containment})",
                       containment=incident.containment)
    verification = passed_verification(session, incident.id, started_by=actor)
    if verification is None:
        raise Conflict("the owner's verification has not passed; verify first")
    existing = open_request_of(session, incident.id)
    if existing is not None:
        raise Conflict("an unfreeze request is already open for this incident", request_id=str(existing.id))
    request = UnfreezeRequest(id=uuid.uuid4(), incident_id=incident.id, verification_id=verification.id,
                              status=REQUEST_INITIAL, raised_by=actor, approvals_required=1,
                              executes_at=earliest_execution(incident, policy, now), created_at=now, updated_at=now)
    request.items = [UnfreezeChecklistItem(item=item, position=index, status=ITEM_INITIAL)
                     for index, item in enumerate(ITEMS)]
    session.add(request)
    states = refresh(session, request, incident, policy, now)
    flush_or_conflict(session, "an unfreeze request is already open for this incident")
    mark_in_progress(session, incident, actor=actor, reason=reasons.OWNER_ASKED_UNFREEZE, now=now)
    audit.record(session, actor=actor, action="unfreeze.requested", subject_type="unfreeze_request",
                 subject_id=request.id, incident_id=incident.id, now=now,
                 data={"approvals_required": request.approvals_required,
                       "executes_at": request.executes_at.isoformat(),
                       "checklist": {state.item: state.status for state in states}})
    session.commit()
    return request


def get_unfreeze_request(session: Session, *, request_id: uuid.UUID, policy: ReviewPolicy,
                         now: datetime | None = None) -> UnfreezeRequest:
    """A request with its checklist re-judged from the evidence in the caller's transaction; nothing is committed
    (a read never writes: the periodic sweep settles a request whose unfreeze the exchange answered)."""
    request = get_request(session, request_id)
    if request.status in ("pending", "approved"):
        refresh(session, request, request.incident, policy, now or utcnow())
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
        refresh(session, request, request.incident, policy, now or utcnow())
    return request


def list_unfreeze_requests(session: Session, *, status: str | None = None, limit: int = 50,
                           cursor: str | None = None) -> Page:
    """Requests in SLA order of their incidents (keyset pagination)."""
    query = select(UnfreezeRequest, Incident.sla_due_at).join(Incident, Incident.id == UnfreezeRequest.incident_id)
    if status is not None:
        query = query.where(UnfreezeRequest.status == status)
    if cursor:
        due, request_id = read_cursor(cursor)
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
    request = lock_request(session, request_id)  # a request that is missing or settled says so before the note
    if request.status not in ("pending", "approved"):
        raise Conflict(f"the request is {request.status}", status_now=request.status)
    require_evidence_note(item, status, note)
    row = next(row for row in request.items if row.item == item)
    is_done = status == "done"
    row.attested_by, row.attested_at, row.note = (actor, now, note) if is_done else (None, None, note)
    audit.record(session, actor=actor, action="unfreeze.checklist.attested", subject_type="unfreeze_request",
                 subject_id=request.id, incident_id=request.incident_id, now=now,
                 data={"item": item, "status": status, "note": note})
    incident = lock_incident(session, request.incident_id)
    mark_in_progress(session, incident, actor=actor, reason=reasons.CHECKLIST_WORKED, now=now)
    refresh(session, request, incident, policy, now)
    execute_if_due(session, request, incident, policy, now)
    session.commit()
    return request


def decide_unfreeze_request(session: Session, *, request_id: uuid.UUID, officer_id: uuid.UUID, decision: str,
                            reason: str, totp: str, policy: ReviewPolicy,
                            now: datetime | None = None) -> UnfreezeRequest:
    """A risk officer approves or rejects, with a reason and their own current TOTP code (step-up).

    The decision is taken under the request's row lock and committed once.
    """
    now = now or utcnow()
    if decision not in DECISIONS:
        raise InvalidInput("decision", "must be 'approve' or 'reject'")
    officer = session.get(Staff, officer_id)
    if officer is None or not officer.is_active:
        raise NotFound("no such staff member")
    check_may_decide(session, get_request(session, request_id), officer, decision)
    # The step-up check commits on its own, before the decision: a refused code must stay counted (replay and
    # lock-out memory) even when the decision is then refused or fails.
    verification_service.check_staff_totp(session, staff_id=officer.id, code=totp, audit=audit.record, now=now)
    session.expire_all()
    request = lock_request(session, request_id)
    incident = lock_incident(session, request.incident_id)
    check_may_decide(session, request, officer, decision)
    states = refresh(session, request, incident, policy, now)
    if decision == "approve" and missing(states):
        raise Conflict("the checklist is not complete", missing=missing(states))
    record_decision(session, request, officer, decision, reason, now)
    mark_in_progress(session, incident, actor=f"staff:{officer.id}", reason=reasons.OFFICER_DECIDED,
                     now=now)
    execute_if_due(session, request, incident, policy, now)
    flush_or_conflict(session, "you have already decided this request")
    session.commit()
    return request
