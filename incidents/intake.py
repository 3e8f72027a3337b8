"""Intake: a report becomes an incident (or joins the open one) and the freeze is queued, in one transaction."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from chain import service as chain_service
from incidents import audit
from incidents.access import issue_incident_token
from incidents.containment import request_freeze
from incidents.models import OPEN_STATUSES, ExchangeCommand, Incident, Report

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
    """What the reporter is told, and the freeze to dispatch once committed."""

    incident: Incident
    access_token: str
    attached: bool
    freeze_command: ExchangeCommand | None


@dataclass(frozen=True)
class Attachment:
    """The account's open incident and whether it existed before."""

    incident: Incident
    attached: bool


def sla_due(now: datetime, hours: int) -> datetime:
    """The SLA deadline: the configured hours, never more than 72."""
    return now + timedelta(hours=min(max(hours, 1), MAX_SLA_HOURS))


def submit_report(session: Session, *, report: ReportInput, sla_hours: int = 24,
                  now: datetime | None = None) -> IntakeResult:
    """Store the report with its incident, queue the freeze and the traces of its hashes; one commit."""
    now = now or utcnow()
    suspicious_at = report.last_legitimate_activity_at or now
    attachment = open_or_attach(session, account_id=report.account_id, now=now, new_incident=lambda: Incident(
        account_id=report.account_id, kind=report.kind, source="report",
        severity=SEVERITY_BY_KIND[report.kind], sla_due_at=sla_due(now, sla_hours),
        queue="risk" if report.kind in ASSET_SAFETY_KINDS else "support",
        first_suspicious_at=suspicious_at, reported_loss=report.reported_loss,
        created_at=now, updated_at=now))
    incident = attachment.incident
    stored = _store_report(session, incident, report, now)
    note_suspicion(incident, suspicious_at)
    freeze = request_freeze(session, incident, scope="full", reason=f"owner report: {report.kind}",
                            actor=f"reporter:{stored.id}", now=now)
    hashes = [(tx["chain"], tx["hash"]) for tx in report.transactions]
    chain_service.add_trace_requests(session, transactions=hashes, depth=chain_service.AUTO_TRACE_DEPTH,
                                     incident_id=incident.id, requested_by=f"reporter:{stored.id}", now=now)
    token = issue_incident_token(session, incident_id=incident.id, report_id=stored.id, now=now)
    session.commit()
    return IntakeResult(incident=incident, access_token=token, attached=attachment.attached,
                        freeze_command=freeze)


def _store_report(session: Session, incident: Incident, report: ReportInput, now: datetime) -> Report:
    """Add the report row and its audit event."""
    stored = Report(id=uuid.uuid4(), incident_id=incident.id, account_id=report.account_id,
                    kind=report.kind, description=report.description, contact=report.contact,
                    language=report.language,
                    last_legitimate_activity_at=report.last_legitimate_activity_at,
                    transactions=report.transactions, reported_loss=report.reported_loss,
                    client_address=report.client_address, created_at=now)
    session.add(stored)
    audit.record(session, actor=f"reporter:{stored.id}", action="report.received", subject_type="report",
                 subject_id=stored.id, incident_id=incident.id,
                 data={"kind": report.kind, "transactions": len(report.transactions)}, now=now)
    return stored


def owner_language(session: Session, *, incident_id) -> str:
    """The language of the owner's latest report on the incident (English for risk-engine incidents)."""
    language = session.scalar(select(Report.language).where(Report.incident_id == incident_id)
                              .order_by(Report.created_at.desc()).limit(1))
    return language or "en"


def note_suspicion(incident: Incident, at: datetime) -> None:
    """Keep the earliest suspicious time: factors bound after it are not trusted."""
    if incident.first_suspicious_at is None or at < incident.first_suspicious_at:
        incident.first_suspicious_at = at


def find_open_incident(session: Session, *, account_id: str) -> Incident | None:
    """The account's open incident, if any."""
    query = select(Incident).where(Incident.account_id == account_id, Incident.status.in_(OPEN_STATUSES))
    return session.scalar(query)


def open_or_attach(session: Session, *, account_id: str, new_incident: Callable[[], Incident],
                   now: datetime) -> Attachment:
    """Return the account's open incident, opening one if none; the unique partial index settles races."""
    existing = find_open_incident(session, account_id=account_id)
    if existing is not None:
        return Attachment(incident=existing, attached=True)
    incident = new_incident()
    try:
        with session.begin_nested():
            session.add(incident)
            session.flush()
    except IntegrityError:
        existing = find_open_incident(session, account_id=account_id)
        if existing is None:
            raise
        return Attachment(incident=existing, attached=True)
    audit.record(session, actor="system", action="incident.opened", subject_type="incident",
                 subject_id=incident.id, incident_id=incident.id,
                 data={"reference": incident.reference, "account_id": account_id,
                       "kind": incident.kind, "source": incident.source}, now=now)
    return Attachment(incident=incident, attached=False)
