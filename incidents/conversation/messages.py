"""Posting and reading the conversation: one thread per reporter, one for the account's registered contact,
staff replies and internal notes.

A reporter's token sees the thread of its report. The links Lockdesk sends to the contact the exchange has on
record for the account are bound to no report: their thread is the public messages with no `report_id`. It is
apart from every reporter's because whoever filed a report, even the first, may be the thief, while the
registered contact is the owner's as far as the exchange knows."""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict, InvalidInput
from incidents import audit
from incidents.access import Principal
from incidents.conversation.attachments import claim_for_message
from incidents.conversation.models import Message
from incidents.models import OPEN_STATUSES, Incident
from incidents.queue import Page, get_incident
from incidents.states import IllegalTransition, transition
from incidents import reasons

MAX_BODY = 4000
# An owner's reply this soon after the case was resolved reopens it.
REOPEN_WINDOW = timedelta(days=7)
STAFF_ONLY_FIELDS = ("visibility", "awaiting_reply", "to")
# The `to` of a staff message that answers the account's registered contact (the thread of no report).
REGISTERED_CONTACT = "registered-contact"


def post_message(session: Session, *, incident_id: uuid.UUID, principal: Principal, body: str,
                 attachment_ids: list[uuid.UUID] | None = None, visibility: str | None = None,
                 awaiting_reply: bool | None = None, to: uuid.UUID | str | None = None,
                 now: datetime | None = None) -> Message:
    """Add a message to a thread, attach its files, move the status as the conversation says; one commit."""
    now = now or utcnow()
    _check_body(body)
    incident = get_incident(session, incident_id=incident_id)
    if incident.status == "closed":
        raise IllegalTransition("the case is closed; file a new report", current="closed", allowed=[])
    if principal.kind == "reporter":
        _refuse_staff_fields(visibility=visibility, awaiting_reply=awaiting_reply, to=to)
        message = _owner_message(incident, principal, body, now)
    else:
        message = _staff_message(incident, principal, body, visibility or "public", awaiting_reply, to, now)
    session.add(message)
    session.flush()
    files = claim_for_message(session, incident_id=incident.id, ids=attachment_ids or [], principal=principal,
                              message=message)
    _move_status(session, incident, message, now)
    audit.record(session, actor=principal.actor, action=_action(message), subject_type="message",
                 subject_id=message.id, incident_id=incident.id, now=now,
                 data={"report_id": str(message.report_id) if message.report_id else None,
                       "visibility": message.visibility, "awaiting_reply": message.awaiting_reply,
                       "body_sha256": hashlib.sha256(body.encode()).hexdigest(),
                       "attachments": [{"id": str(row.id), "sha256": row.sha256} for row in files]})
    session.commit()
    return message


def _check_body(body: str) -> None:
    """1–4000 characters of something other than white space."""
    if not body or not body.strip():
        raise InvalidInput("body", "must not be empty")
    if len(body) > MAX_BODY:
        raise InvalidInput("body", f"is longer than {MAX_BODY} characters")


def _refuse_staff_fields(**given) -> None:
    """A reporter writes to its own thread only, always in public."""
    for name, value in given.items():
        if value is not None:
            raise InvalidInput(name, "is for staff only")


def _owner_message(incident: Incident, principal: Principal, body: str, now: datetime) -> Message:
    """The reporter's message, in its own thread."""
    if incident.status == "resolved" and (incident.closed_at is None or now - incident.closed_at > REOPEN_WINDOW):
        raise IllegalTransition("the case was resolved more than 7 days ago; file a new report",
                                current="resolved", allowed=[])
    return Message(id=uuid.uuid4(), incident_id=incident.id, report_id=principal.report_id, author="owner",
                   actor=principal.actor, visibility="public", body=body, awaiting_reply=False, created_at=now)


def _staff_message(incident: Incident, principal: Principal, body: str, visibility: str,
                   awaiting_reply: bool | None, to: uuid.UUID | str | None, now: datetime) -> Message:
    """A staff reply to one thread (a reporter's, or the registered contact's), or an internal note."""
    waits = visibility == "public" and (awaiting_reply is None or awaiting_reply)
    return Message(id=uuid.uuid4(), incident_id=incident.id, report_id=_thread(incident, visibility, to),
                   author="staff", author_staff_id=principal.id, actor=principal.actor, visibility=visibility,
                   body=body, awaiting_reply=waits, created_at=now)


def _thread(incident: Incident, visibility: str, to: uuid.UUID | str | None) -> uuid.UUID | None:
    """The report whose thread a staff message goes to; None for the registered contact's thread (and for a
    note on the whole case). Left out, a public message goes to the one thread the case has: its single
    reporter's, or the registered contact's when nobody reported (a case the risk engine opened)."""
    report_ids = [report.id for report in incident.reports]
    if to == REGISTERED_CONTACT:
        return None
    if to is not None and (not isinstance(to, uuid.UUID) or to not in report_ids):
        raise InvalidInput("to", f'is neither a report of this case nor "{REGISTERED_CONTACT}"')
    if visibility == "public" and to is None and report_ids:
        if len(report_ids) != 1:
            raise InvalidInput("to", "name the report whose thread you answer, or "
                                     f'"{REGISTERED_CONTACT}" (the case has {len(report_ids)} reporters)')
        return report_ids[0]
    return to


def _move_status(session: Session, incident: Incident, message: Message, now: datetime) -> None:
    """A staff question waits for the owner (待反馈); the owner's answer, or a reply soon after resolving, resumes
    the work (处理中)."""
    if message.author == "staff" and message.awaiting_reply and incident.status in ("open", "in_progress"):
        transition(session, incident, machine="status", to="awaiting_user", actor=message.actor,
                   reason=reasons.QUESTION_ASKED, now=now)
    elif message.author == "owner" and incident.status in ("awaiting_user", "resolved"):
        if incident.status == "resolved":
            _refuse_a_second_open_case(session, incident)
        transition(session, incident, machine="status", to="in_progress", actor=message.actor,
                   reason=reasons.OWNER_REPLIED, now=now)


def other_open_case(session: Session, *, account_id: str, excluding: uuid.UUID | None = None) -> uuid.UUID | None:
    """The id of the account's open case other than `excluding`, if there is one (an account has one open case,
    so a closed or resolved case must not become open beside it)."""
    query = select(Incident.id).where(Incident.account_id == account_id, Incident.status.in_(OPEN_STATUSES))
    if excluding is not None:
        query = query.where(Incident.id != excluding)
    return session.scalar(query.limit(1))


def _refuse_a_second_open_case(session: Session, incident: Incident) -> None:
    """An account has one open case: a newer one takes the reply instead of this one reopening."""
    newer = other_open_case(session, account_id=incident.account_id, excluding=incident.id)
    if newer is not None:
        raise Conflict("a newer case is open for this account; write there", incident_id=str(newer))


def _action(message: Message) -> str:
    """The audit action: notifications and webhooks key on it."""
    if message.author == "owner":
        return "message.owner_posted"
    if message.visibility == "internal":
        return "message.note_added"
    return "message.staff_asked" if message.awaiting_reply else "message.staff_replied"


def list_messages(session: Session, *, incident_id: uuid.UUID, principal: Principal, limit: int,
                  cursor: str | None) -> Page:
    """Oldest first: staff see every thread and note, a reporter the public messages of its own thread (a token of
    the registered contact, bound to no report, those with no report)."""
    get_incident(session, incident_id=incident_id)
    query = select(Message).where(Message.incident_id == incident_id)
    if principal.kind == "reporter":
        query = query.where(Message.report_id == principal.report_id, Message.visibility == "public")
    if cursor:
        if re.fullmatch(r"[0-9]{1,18}", cursor) is None:  # the last message number seen
            raise InvalidInput("cursor", "is not a cursor this list gave out")
        query = query.where(Message.number > int(cursor))
    rows = list(session.scalars(query.order_by(Message.number).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=str(rows[-1].number) if more else None)

