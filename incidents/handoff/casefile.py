"""What a case's evidence says, read once for the bundle: summary, timeline, verification, traces, decisions."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chain import service as chain_service
from chain.graph import render_svg
from incidents import audit, checkpoints
from incidents.checkpoints import AuditCheckpoint
from incidents.conversation.models import Attachment
from incidents.models import AuditEvent, Incident, Staff, UnfreezeDecision, UnfreezeRequest
from incidents.ownership import latest_verification
from incidents.queue import get_incident


@dataclass(frozen=True)
class CaseEvidence:
    """Everything the bundle holds but the attachments' bytes (read outside any transaction)."""

    incident: dict[str, Any]
    timeline: list[dict[str, Any]]
    verification: dict[str, Any] | None
    traces: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    attachments: list[dict[str, Any]]
    audit_head: str | None
    checkpoint: AuditCheckpoint | None = None


def iso(value: datetime | None) -> str | None:
    """ISO 8601 UTC with Z."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def read_case(session: Session, *, incident_id: uuid.UUID) -> CaseEvidence:
    """Read the case's evidence in the caller's transaction (the caller ends it)."""
    incident = get_incident(session, incident_id=incident_id)
    head = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                          .order_by(AuditEvent.seq.desc()).limit(1))
    return CaseEvidence(incident=_summary(incident), timeline=[_event(e) for e in audit.timeline(
                            session, incident_id=incident_id)],
                        verification=_verification(session, incident_id), traces=_traces(session, incident_id),
                        decisions=_decisions(session, incident_id), attachments=_attachments(session, incident_id),
                        audit_head=head, checkpoint=checkpoints.latest(session))


def _summary(incident: Incident) -> dict[str, Any]:
    """The case at a glance."""
    reports = [{"kind": r.kind, "description": r.description, "created_at": iso(r.created_at),
                "transactions": list(r.transactions or [])} for r in incident.reports]
    return {"id": str(incident.id), "reference": incident.reference, "account_id": incident.account_id,
            "kind": incident.kind, "source": incident.source, "severity": incident.severity,
            "status": incident.status, "containment": incident.containment, "created_at": iso(incident.created_at),
            "frozen_at": iso(incident.frozen_at), "closed_at": iso(incident.closed_at),
            "reported_loss": incident.reported_loss, "reports": reports}


def _event(event: AuditEvent) -> dict[str, Any]:
    """One audit event as timeline.json carries it: its link in the chain included."""
    return {"id": event.id, "seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash,
            "occurred_at": iso(event.occurred_at), "actor": event.actor, "action": event.action,
            "subject_type": event.subject_type, "subject_id": event.subject_id, "data": event.data}


def _verification(session: Session, incident_id: uuid.UUID) -> dict[str, Any] | None:
    """The owner's newest verification: outcome and factors, never a code, secret or phone number."""
    found = latest_verification(session, incident_id=incident_id)
    if found is None:
        return None
    return {"status": found.status, "created_at": iso(found.created_at), "passed_at": iso(found.passed_at),
            "manual_review_required": found.manual_review_required, "review_decision": found.review_decision,
            "factors": [{"kind": f.kind, "status": f.status, "trusted": f.trusted} for f in found.factors]}


def _traces(session: Session, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each finished trace with its picture and the letters to the exchanges it reached."""
    found = []
    for trace in chain_service.list_traces(session, incident_id=incident_id):
        body = {"id": str(trace.id), "chain": trace.chain, "tx_hash": trace.tx_hash, "depth": trace.depth,
                "status": trace.status, "transaction": trace.transaction, "graph": trace.graph,
                "findings": trace.findings or [], "error": trace.error, "created_at": iso(trace.created_at),
                "finished_at": iso(trace.finished_at)}
        svg = render_svg(trace.graph or {"nodes": [], "edges": []}, title=f"{trace.chain} {trace.tx_hash}")
        letters = (chain_service.draft_freeze_requests(session, trace_id=trace.id) if trace.status == "done" else [])
        found.append({"trace": body, "svg": svg, "letters": [
            {"exchange": letter.exchange, "language": letter.language, "text": letter.text} for letter in letters]})
    return found


def _decisions(session: Session, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    """The officers' unfreeze decisions, each with the officer's name."""
    rows = session.execute(
        select(UnfreezeDecision, Staff.name).join(UnfreezeRequest, UnfreezeRequest.id == UnfreezeDecision.request_id)
        .join(Staff, Staff.id == UnfreezeDecision.officer_id).where(UnfreezeRequest.incident_id == incident_id)
        .order_by(UnfreezeDecision.decided_at)).all()
    return [{"officer": name, "decision": d.decision, "reason": d.reason, "decided_at": iso(d.decided_at)}
            for d, name in rows]


def _attachments(session: Session, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    """The case's files that are still kept (purged ones are gone, their hashes stay in the timeline)."""
    query = (select(Attachment).where(Attachment.incident_id == incident_id, Attachment.purged_at.is_(None))
             .order_by(Attachment.created_at))
    return [{"id": str(a.id), "filename": a.filename, "content_type": a.content_type, "size": a.size,
             "sha256": a.sha256, "storage_key": a.storage_key, "created_at": iso(a.created_at)}
            for a in session.scalars(query)]


def dumps(value: Any) -> bytes:
    """JSON files of the bundle: indented, UTF-8, keys sorted."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str).encode()


def safe_name(value: str) -> str:
    """A file name part with nothing but letters, digits, dot, dash and underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("._") or "file"
