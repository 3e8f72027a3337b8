"""Intake: a report becomes an incident (or joins the open one) and the freeze is queued, in one transaction."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import utcnow
from app.together import Rows, insert_together
from kernel.errors import Conflict
from chain import service as chain_service
from incidents import audit
from incidents.access import incident_token, reporter_actor
from incidents.containment import OPENED_FREEZING, freeze_opened_commands, request_freeze
from incidents.outbox.calls import Claim
from incidents.outbox.lease import Lease
from incidents.models import OPEN_INCIDENT_SQL, OPEN_STATUSES, AccessToken, ExchangeCommand, Incident, Report
from incidents.outbox.commands import adopt_commands, command_part
from incidents.suspicion import clamp_claim

REPORT_KINDS = ("stolen_account", "unauthorized_withdrawal", "suspicious_login", "phishing", "other")
SEVERITY_BY_KIND = {"stolen_account": "critical", "unauthorized_withdrawal": "critical",
                    "phishing": "high", "suspicious_login": "medium", "other": "low"}
# Kinds where the owner's assets are at stake go to the risk queue (DESIGN §2 flow 6).
ASSET_SAFETY_KINDS = frozenset({"stolen_account", "unauthorized_withdrawal"})
MAX_SLA_HOURS = 72


@dataclass(frozen=True)
class ReportInput:
    """A validated report as the owner sent it."""

    account_id: str
    kind: str
    description: str = ""
    contact: dict[str, Any] = field(default_factory=dict)
    last_legitimate_activity_at: datetime | None = None
    transactions: list[dict[str, str]] = field(default_factory=list)
    language: str = "en"
    reported_loss: str | None = None
    client_address: str | None = None


@dataclass(frozen=True)
class IntakeResult:
    """What the reporter is told, and the freeze to dispatch once committed (with its claim, if one was taken)."""

    incident: Incident
    access_token: str
    attached: bool
    freeze_command: ExchangeCommand | None
    freeze_claim: Claim | None = None


@dataclass(frozen=True)
class Attachment:
    """The account's open incident and whether it existed before."""

    incident: Incident
    attached: bool


def sla_due(now: datetime, hours: int) -> datetime:
    """The SLA deadline: the configured hours, never more than 72."""
    return now + timedelta(hours=min(max(hours, 1), MAX_SLA_HOURS))


def submit_report(session: Session, *, report: ReportInput, sla_hours: int = 24, now: datetime | None = None,
                  claim_freeze: Lease | None = None) -> IntakeResult:
    """Store the report with its incident, queue the freeze and the traces of its hashes; one commit.

    `claim_freeze`, when given, is the lease under which the new freeze command is written already claimed
    for the caller (the request's fast path), so dispatching it needs no transaction of its own.
    """
    now = now or utcnow()
    # The reporter's time is a claim: it may only move the suspicion earlier (issue 17 item 1).
    suspicious_at = clamp_claim(report.last_legitimate_activity_at, received_at=now)
    attachment = open_or_attach(session, account_id=report.account_id, now=now, new_incident={
        "kind": report.kind, "source": "report", "severity": SEVERITY_BY_KIND[report.kind],
        "sla_due_at": sla_due(now, sla_hours), "queue": "risk" if report.kind in ASSET_SAFETY_KINDS else "support",
        "first_suspicious_at": suspicious_at, "reported_loss": report.reported_loss,
        "created_at": now, "updated_at": now, **OPENED_FREEZING})
    incident = attachment.incident
    report_id = uuid.uuid4()
    # The reporter acts under its token from the first event on, as on every later one (`access.reporter_actor`).
    token, token_row = incident_token(incident_id=incident.id, report_id=report_id, now=now)
    actor = reporter_actor(token_row["id"])
    stored = _report_row(session, incident, report, report_id=report_id, actor=actor, now=now)
    note_suspicion(incident, suspicious_at)
    freeze_as = {"scope": "full", "reason": f"owner report: {report.kind}", "actor": actor, "now": now,
                 "lease": claim_freeze}
    if attachment.attached:  # the freeze moves the incident: its commands are written with that move
        freeze, unwritten = request_freeze(session, incident, **freeze_as), []
    else:  # every report asks for the freeze, so a new incident is opened already freeze_pending
        unwritten = freeze_opened_commands(session, incident, **freeze_as)
        freeze = unwritten[0]
    claim = Claim.of(freeze) if claim_freeze is not None and freeze is not None else None
    hashes = [(tx["chain"], tx["hash"]) for tx in report.transactions]
    chain_service.add_trace_requests(session, transactions=hashes, depth=chain_service.AUTO_TRACE_DEPTH,
                                     incident_id=incident.id, requested_by=actor, now=now,
                                     incident_is_new=not attachment.attached)
    # The report, the new incident's commands, the token and the events: one statement on PostgreSQL.
    insert_together(session.connection(), [Rows(_REPORTS, [stored], _REPORT_COLUMNS), command_part(unwritten),
                                            Rows(_TOKENS, [token_row], _TOKEN_COLUMNS), audit.take_pending(session)])
    adopt_commands(session, unwritten)
    session.commit()
    return IntakeResult(incident=incident, access_token=token, attached=attachment.attached,
                        freeze_command=freeze, freeze_claim=claim)


def _report_row(session: Session, incident: Incident, report: ReportInput, *, report_id: uuid.UUID, actor: str,
                now: datetime) -> dict[str, Any]:
    """The report's row, not yet written, with its audit event recorded."""
    row = {"id": report_id, "incident_id": incident.id, "account_id": report.account_id, "kind": report.kind,
           "description": report.description, "contact": report.contact, "language": report.language,
           "last_legitimate_activity_at": report.last_legitimate_activity_at, "transactions": report.transactions,
           "reported_loss": report.reported_loss, "client_address": report.client_address, "created_at": now}
    audit.record(session, actor=actor, action="report.received", subject_type="report",
                 subject_id=row["id"], incident_id=incident.id,
                 data={"kind": report.kind, "transactions": len(report.transactions)}, now=now)
    return row


_REPORTS, _TOKENS = Report.__table__, AccessToken.__table__
_REPORT_COLUMNS = tuple(column.key for column in _REPORTS.columns)  # `_report_row` gives every one
_TOKEN_COLUMNS = ("id", "token_hash", "incident_id", "report_id", "created_at")  # `incident_token`'s row


def note_suspicion(incident: Incident, at: datetime) -> None:
    """Keep the earliest suspicious time (a claim clamped by `clamp_claim`): factors bound after it are not trusted."""
    if incident.first_suspicious_at is None or at < incident.first_suspicious_at:
        incident.first_suspicious_at = at


def find_open_incident(session: Session, *, account_id: str) -> Incident | None:
    """The account's open incident, if any."""
    query = select(Incident).where(Incident.account_id == account_id, Incident.status.in_(OPEN_STATUSES))
    return session.scalar(query)


# An open incident closed between our insert and our read: try again, this many times at most.
OPEN_OR_ATTACH_TRIES = 3


def open_or_attach(session: Session, *, account_id: str, new_incident: dict[str, Any],
                   now: datetime) -> Attachment:
    """Return the account's open incident, opening one (with these fields) if none.

    One `INSERT … ON CONFLICT DO NOTHING` on the unique partial index of open incidents settles
    concurrent reports for one account: exactly one inserts, the others read the winner's row.
    """
    for _ in range(OPEN_OR_ATTACH_TRIES):
        incident = _insert_unless_open(session, {**new_incident, "account_id": account_id}).first()
        if incident is not None:
            break
        existing = find_open_incident(session, account_id=account_id)
        if existing is not None:
            return Attachment(incident=existing, attached=True)
    else:
        raise Conflict(f"the open incident of account {account_id} kept changing under concurrent reports; "
                       "send the report again")
    record_opened_row(session, incident_id=incident.id, reference=incident.reference, account_id=account_id,
                      kind=incident.kind, source=incident.source, now=now)
    return Attachment(incident=incident, attached=False)


def record_opened_row(session: Session, *, incident_id: uuid.UUID, reference: str, account_id: str, kind: str,
                      source: str, now: datetime) -> None:
    """The audit event of a newly opened incident (an intake's entity or a batch's Core row alike)."""
    audit.record(session, actor="system", action="incident.opened", subject_type="incident",
                 subject_id=incident_id, incident_id=incident_id,
                 data={"reference": reference, "account_id": account_id, "kind": kind, "source": source}, now=now)


def _insert_unless_open(session: Session, fields: dict[str, Any]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING the incident (nothing when the account has an open one)."""
    statement = _INSERT_UNLESS_OPEN[session.get_bind().dialect.name]
    return session.scalars(statement, {"id": uuid.uuid4(), **fields})


# Built once per dialect: building the statement costs more than running it. A Core INSERT on the table
# loaded as the entity: the same persistent Incident as an ORM-enabled INSERT … RETURNING, for about
# two thirds of its CPU (the bulk-insert machinery is skipped).
_INSERT_UNLESS_OPEN = {
    name: select(Incident).from_statement(
        dialect.insert(Incident.__table__)
        .on_conflict_do_nothing(index_elements=["account_id"], index_where=text(OPEN_INCIDENT_SQL))
        .returning(*Incident.__table__.c))
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
