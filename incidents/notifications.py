"""Telling the owner (and the risk queue): what, when, on which channel, in which words.

Every state change writes an audit event in its own transaction; when the sealer links that event
into the chain, the composition root's hook calls `enqueue_for_events` in the sealing transaction, so
each event's notifications are written exactly once, in batches, off the request's path. Owners are
reached only on the channels the exchange has on record for the account (the account snapshot),
never on a contact typed into a report, which an attacker may have written.
Every owner message carries the account's anti-phishing code, says we never ask for passwords,
keys or codes, and links a one-time "this wasn't me" page.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from incidents import audit
from incidents.access import incident_token, write_incident_tokens
from incidents.containment import latest_account_snapshots
from incidents.conversation.notices import add_conversation_texts, render_owner_replied
from incidents.conversation.reporter_notices import (
    AUDIENCE as REPORTER,
    OWNER_NOTICES_ELSEWHERE,
    REPORTER_NOTICES,
    recipient,
    render_for_reporter,
    report_of,
    reporter_columns,
)
from incidents.exchange.wire import parse_time
from incidents.exchange.models import AccountSnapshotRecord
from incidents.owner_language import OwnerReports, owner_reports
from kernel.errors import DeliveryFailed
from incidents.mail import EmailMessage, Mailer
from incidents.models import AuditEvent, Incident, Notification, Report
from incidents.notice_words import (  # noqa: F401 - the renderers are part of this module's interface
    CATALOGUE,
    SMS_SUMMARY,
    Rendered,
    render_owner_email,
    render_owner_sms,
    render_risk_queue_email,
)
from incidents.outbox.delivery import Attempt, claim_due_rows, finish_row, postpone_row, record_attempts, skip_row
from incidents.outbox.states import INITIAL
from incidents.repudiation import repudiation_row, write_repudiations
from verification.service import resolve_language
from verification.sms import SmsGateway

OWNER_NOTICES = {
    "report.received": "received",
    "incident.containment.frozen": "frozen",
    "verification.passed": "verification_passed",
    "unfreeze.approved": "unfreeze_approved",
    "unfreeze.rejected": "unfreeze_rejected",
    "incident.containment.unfrozen": "unfrozen",
    # ASVS 4.0.3 2.8.5: a one-time code used again while valid is logged and its holder told.
    "verification.code_reused": "code_reused",
    "incident.case_link_requested": "case_link",
    "incident.reopened": "reopened",
    # The conversation: staff asked the owner something, and the reminders while the case waits.
    "message.staff_asked": "question",
    "incident.owner_reminded": "reminder",
}
# The queue's mail: a breached SLA, and an owner's reply (the assignee has no address on record).
RISK_QUEUE_NOTICES = {"incident.sla_breached": "sla_breached", "message.owner_posted": "owner_replied"}
NOTIFICATION_FAILED = "notification.failed"
OWNER_CHANNELS = ("email", "sms")
# The account snapshot arrives with the freeze's follow-ups; a message waits for it at most this long.
SNAPSHOT_PATIENCE = timedelta(hours=24)

add_conversation_texts(CATALOGUE, SMS_SUMMARY)

@dataclass(frozen=True)
class NoticePolicy:
    """Who gets the risk queue's mail, and how long a repudiation link lives."""

    risk_queue_email: str | None = None
    repudiation_ttl: timedelta = timedelta(days=7)


def enqueue_for_events(session: Session, events: Sequence[AuditEvent], *, policy: NoticePolicy) -> int:
    """The notifications a batch of audit events (sealed, in chain order) calls for, written in the caller's
    transaction with one INSERT per table (rows, not objects: the sealer writes hundreds at once); how many."""
    repudiations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for event in events:
        owner_notice = OWNER_NOTICES.get(event.action)
        # A question (or its reminder) in a reporter's thread goes to that reporter; the owner is told where it waits.
        thread = (event.data or {}).get("report_id") if owner_notice in REPORTER_NOTICES else None
        if thread and event.incident_id is not None:
            messages += [_message(event, **columns)
                         for columns in reporter_columns(owner_notice, report_id=thread, event=event.action)]
            owner_notice = OWNER_NOTICES_ELSEWHERE[owner_notice]
        if owner_notice and event.incident_id is not None:
            link = repudiation_row(incident_id=event.incident_id, notice=owner_notice, now=event.occurred_at,
                                   ttl=policy.repudiation_ttl)
            repudiations.append(link)
            messages += [_message(event, audience="owner", channel=channel, notice=owner_notice,
                                  repudiation_id=link["id"], recipient=None, data=_notice_data(event))
                         for channel in OWNER_CHANNELS]
        elif (risk_notice := RISK_QUEUE_NOTICES.get(event.action)) and policy.risk_queue_email:
            messages.append(_message(event, audience="risk_queue", channel="email", notice=risk_notice,
                                     repudiation_id=None, recipient=policy.risk_queue_email, data=dict(event.data)))
    write_repudiations(session, repudiations)
    if messages:
        session.execute(_INSERT_NOTIFICATIONS, messages)
    return len(messages)


def _message(event: AuditEvent, **columns: Any) -> dict[str, Any]:
    """A pending notification's row for an event (every row of a batch has the same columns)."""
    return {"id": uuid.uuid4(), "incident_id": event.incident_id, "status": INITIAL, "attempts": 0,
            "next_attempt_at": event.occurred_at, "created_at": event.occurred_at, **columns}


_INSERT_NOTIFICATIONS = insert(Notification.__table__)


def _notice_data(event: AuditEvent) -> dict:
    """What a message keeps of its event: the action, and the unfreeze time an approval promises."""
    data = {"event": event.action}
    if (event.data or {}).get("executes_at"):
        data["executes_at"] = event.data["executes_at"]
    return data


# --- delivery ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    """Where messages go, and how a repudiation link is written."""

    mailer: Mailer
    sms: SmsGateway
    link_for: Callable[[uuid.UUID], str]
    # The owner's private case page for an incident and a fresh access token.
    case_link_for: Callable[[uuid.UUID, str], str] | None = None


@dataclass(frozen=True)
class PreparedMessage:
    """A claimed notification rendered for its recipient."""

    id: uuid.UUID
    token: str
    channel: str
    to: str
    rendered: Rendered


def deliver_notifications(sessions: sessionmaker[Session], *, ports: Ports, clock: Callable[[], datetime] = utcnow,
                          limit: int = 50) -> int:
    """Claim due notifications, send them with no transaction open, record the outcomes; the number sent or tried."""
    with sessions() as session:
        now = clock()
        rows = claim_due_rows(session, Notification, now=now, limit=limit)
        facts = CaseFacts.load(session, {row.incident_id for row in rows if row.incident_id is not None},
                               report_ids={report_of(row) for row in rows if row.audience == REPORTER})
        prepared = []
        for row in rows:
            message = _prepare(row, facts, ports, now)
            if message is not None:
                prepared.append(message)
            elif row.status == "failed" and row.incident_id in facts.incidents:  # given up before any send
                tell_staff_of_failure(session, row)
        write_incident_tokens(session, facts.tokens)
        session.commit()
    attempts = [(message.id, message.token, _send(ports, message)) for message in prepared]
    record_attempts(sessions, Notification, attempts, now=clock(), on_failed=tell_staff_of_failure)
    return len(prepared)


def tell_staff_of_failure(session: Session, row: Notification) -> None:
    """A message to the owner or a reporter failed for good: say so on the case's timeline, in the same transaction."""
    if row.audience not in ("owner", REPORTER) or row.incident_id is None:
        return
    audit.record(session, actor="system", action=NOTIFICATION_FAILED, subject_type="notification",
                 subject_id=row.id, incident_id=row.incident_id,
                 data={"channel": row.channel, "notice": row.notice, "attempts": row.attempts,
                       "reason": f"{row.channel} not delivered: {row.last_error}"})


@dataclass(frozen=True)
class CaseFacts:
    """What a batch of messages needs of its cases, read in three queries rather than three per message, and the
    access tokens its case links issue (written together before the claim commits)."""

    incidents: dict[uuid.UUID, Incident]
    snapshots: dict[uuid.UUID, AccountSnapshotRecord]
    reports: dict[uuid.UUID, OwnerReports]
    reporters: dict[uuid.UUID, Report] = field(default_factory=dict)
    tokens: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, incident_ids: set[uuid.UUID], *, report_ids: set[uuid.UUID]) -> CaseFacts:
        """The incidents, newest account snapshots, owners' languages, and the reports messages to reporters name."""
        if not incident_ids:
            return cls({}, {}, {})
        incidents = {row.id: row for row in session.scalars(select(Incident).where(Incident.id.in_(incident_ids)))}
        reporters = ({row.id: row for row in session.scalars(select(Report).where(Report.id.in_(report_ids)))}
                     if report_ids else {})
        return cls(incidents, latest_account_snapshots(session, incident_ids=incident_ids),
                   owner_reports(session, incident_ids=incident_ids), reporters)

    def language(self, incident_id: uuid.UUID) -> str:
        """The owner's language (incidents/owner_language.py; English for an incident without a report)."""
        reports = self.reports.get(incident_id)
        return reports.language if reports else "en"


def _prepare(row: Notification, facts: CaseFacts, ports: Ports, now: datetime) -> PreparedMessage | None:
    """Find the recipient and render; rows that cannot go yet are postponed or closed here."""
    incident = facts.incidents.get(row.incident_id) if row.incident_id else None
    if incident is None:
        finish_row(row, error="the incident is gone", is_retryable=False, now=now)
        return None
    if row.audience == "risk_queue" and row.notice == "owner_replied":
        rendered = render_owner_replied(reference=incident.reference, account_id=incident.account_id)
        return PreparedMessage(id=row.id, token=row.claim_token, channel="email", to=row.recipient, rendered=rendered)
    if row.audience == "risk_queue":
        rendered = render_risk_queue_email(reference=incident.reference, account_id=incident.account_id,
                                           due=str(row.data.get("sla_due_at", incident.sla_due_at.isoformat())))
        return PreparedMessage(id=row.id, token=row.claim_token, channel="email", to=row.recipient, rendered=rendered)
    if row.audience == REPORTER:
        return _prepare_for_reporter(row, incident, facts, ports, now)
    snapshot = facts.snapshots.get(incident.id)
    if snapshot is None:
        postpone_row(row, reason="waiting for the exchange's account details", now=now,
                     give_up_after=SNAPSHOT_PATIENCE)
        return None
    to = snapshot.email if row.channel == "email" else snapshot.phone
    if not to:
        skip_row(row, reason=f"no registered {row.channel}")
        return None
    render = render_owner_email if row.channel == "email" else render_owner_sms
    rendered = render(notice=row.notice, language=resolve_language(facts.language(incident.id)),
                      reference=incident.reference, anti_phishing_code=snapshot.anti_phishing_code,
                      link=ports.link_for(row.repudiation_id), case_link=_case_link(incident, facts, ports, now),
                      when=_when(row.data.get("executes_at"), not_before=row.created_at))
    return PreparedMessage(id=row.id, token=row.claim_token, channel=row.channel, to=to, rendered=rendered)


def _prepare_for_reporter(row: Notification, incident: Incident, facts: CaseFacts, ports: Ports,
                          now: datetime) -> PreparedMessage | None:
    """A reporter's message, to the contact its report gave, with a fresh link bound to that report."""
    report = facts.reporters.get(report_of(row))
    to = recipient(report.contact if report else None, row.channel)
    if not to:
        skip_row(row, reason=f"the report gave no {row.channel}")
        return None
    token, token_row = incident_token(incident_id=incident.id, report_id=report.id, now=now)
    facts.tokens.append(token_row)
    link = ports.case_link_for(incident.id, token) if ports.case_link_for else ""
    rendered = render_for_reporter(channel=row.channel, notice=row.notice, language=report.language,
                                   reference=incident.reference, link=link)
    return PreparedMessage(id=row.id, token=row.claim_token, channel=row.channel, to=to, rendered=rendered)


def _when(iso: str | None, *, not_before: datetime | None = None) -> str:
    """A time a message promises, as `2026-11-21 22:00 UTC`; never earlier than the event that promised it (an
    approval given after the earliest unfreeze time unfreezes now, not in the past)."""
    at = parse_time(iso) if iso else None
    if at is not None and not_before is not None:
        at = max(at, not_before)
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else ""


def _case_link(incident: Incident, facts: CaseFacts, ports: Ports, now: datetime) -> str:
    """A fresh access link for the owner (tokens are stored hashed, so an old one cannot be sent again); it
    goes only to the account's registered contacts, its token written in the claim's transaction.

    The token is bound to no report: it opens the registered contact's own thread, never a reporter's. Whoever
    filed a report, the first one included, may be the thief, and what the owner writes and uploads there (ID
    photos, documents) must not reach that reporter's token."""
    if ports.case_link_for is None:
        return ""
    token, row = incident_token(incident_id=incident.id, report_id=None, now=now)
    facts.tokens.append(row)
    return ports.case_link_for(incident.id, token)


def _send(ports: Ports, message: PreparedMessage) -> Attempt:
    """Hand the message to its channel; vendor failures come back as an Attempt, never raised."""
    try:
        if message.channel == "email":
            ports.mailer.send(EmailMessage(to=message.to, subject=message.rendered.subject,
                                           text=message.rendered.text, language=message.rendered.language))
        else:
            ports.sms.send(to=message.to, body=message.rendered.text)
    except DeliveryFailed as exc:  # the mailer's and the SMS gateway's alike
        return Attempt(error=exc.detail, is_retryable=exc.is_retryable)
    return Attempt()
