"""The case file: an incident with what every domain knows of it, as staff and as its reporter see it."""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from app.api.schemas import TraceOut, VerificationOut
from app.extensions import runtime
from chain import service as chain_service
from incidents.access import Principal
from incidents.containment import pulled_withdrawals
from incidents.models import Incident, Report
from incidents.ownership import has_proven_ownership, latest_verification, own_verification
from incidents.review import current_request
from incidents.suspicion import earliest_suspicious_activity
from verification.sms import mask_phone


def transactions_of(incident: Incident) -> list[dict[str, Any]]:
    """Every transaction the reports named, once each."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for report in incident.reports:
        for tx in report.transactions:
            seen.setdefault((tx["chain"], tx["hash"].lower()), {"chain": tx["chain"], "hash": tx["hash"],
                                                                "source": "report"})
    return list(seen.values())


def staff_view(session: Session, incident: Incident) -> dict[str, Any]:
    """Everything about the incident, for staff."""
    view = {column: getattr(incident, column) for column in (
        "id", "reference", "account_id", "kind", "source", "severity", "risk_score", "status", "containment",
        "queue", "sla_due_at", "assignee_id", "created_at", "updated_at", "frozen_at", "closed_at",
        "first_suspicious_at", "reported_loss", "reports", "anomalies")}
    # The earliest suspicious moment known, the one factor trust is judged against (not only the claims).
    view["first_suspicious_at"] = earliest_suspicious_activity(
        session, incident, look_back_days=current_app.config["FACTOR_TRUST_DAYS"]).at
    withdrawals = pulled_withdrawals(session, incident_id=incident.id)
    view.update(transactions=transactions_of(incident) + [
                    {"chain": w.chain, "hash": w.tx_hash, "source": "exchange"} for w in withdrawals if w.tx_hash],
                withdrawals=[_withdrawal(w) for w in withdrawals],
                verification=_verification(session, incident),
                unfreeze_request=_unfreeze_request(session, incident),
                traces=_traces(session, incident), **peer_views(session, incident.id))
    return view


def _withdrawal(row) -> dict[str, Any]:
    """A pulled withdrawal as the API shows it."""
    return {"id": row.exchange_withdrawal_id, "chain": row.chain, "asset": row.asset, "amount": row.amount,
            "address": row.address, "tx_hash": row.tx_hash, "status": row.status,
            "created_at": row.created_at.isoformat().replace("+00:00", "Z")}


def _verification(session: Session, incident: Incident) -> dict[str, Any] | None:
    """The newest verification of the owner."""
    found = latest_verification(session, incident_id=incident.id)
    return VerificationOut().dump(found) if found else None


def _own_verification(session: Session, incident: Incident, principal: Principal) -> dict[str, Any] | None:
    """The verification this reporter started (never another reporter's)."""
    found = own_verification(session, incident_id=incident.id, actor=principal.actor)
    return VerificationOut().dump(found) if found else None


def _traces(session: Session, incident: Incident, hashes: set[str] | None = None) -> list[dict[str, Any]]:
    """The incident's traces (only those of the given hashes, for a reporter)."""
    traces = chain_service.list_traces(session, incident_id=incident.id)
    return [TraceOut().dump(t) for t in traces if hashes is None or t.tx_hash.lower() in hashes]


def reporter_view(session: Session, incident: Incident, principal: Principal) -> dict[str, Any]:
    """The redacted view: the reporter's own report and the containment; the owner's progress (verification
    results, the unfreeze request and its times) only to a holder who passed the verification on this case."""
    own = next((report for report in incident.reports if report.id == principal.report_id), None)
    own_transactions = [{"chain": tx["chain"], "hash": tx["hash"]} for tx in (own.transactions if own else [])]
    return {
        "id": incident.id, "reference": incident.reference, "status": incident.status,
        "containment": incident.containment, "created_at": incident.created_at,
        "sla_due_at": incident.sla_due_at, "updated_at": incident.updated_at, "kind": incident.kind,
        "frozen_at": incident.frozen_at, "report": masked_report(own), "transactions": own_transactions,
        "verification": _own_verification(session, incident, principal),
        "unfreeze_request": (_unfreeze_request(session, incident, for_owner=True)
                             if has_proven_ownership(session, incident_id=incident.id, actor=principal.actor)
                             else None),
        "traces": _traces(session, incident, {tx["hash"].lower() for tx in own_transactions}),
    }


def _unfreeze_request(session: Session, incident: Incident, *, for_owner: bool = False) -> dict[str, Any] | None:
    """The incident's newest unfreeze request, its checklist re-judged for display (nothing stored)."""
    from app.api.unfreeze import OwnerUnfreezeRequestOut, UnfreezeRequestOut

    request = current_request(session, incident_id=incident.id, policy=runtime().ports.review_policy)
    if request is None:
        return None
    return (OwnerUnfreezeRequestOut() if for_owner else UnfreezeRequestOut()).dump(request)


def mask_email(email: str) -> str:
    """owner@example.com → o****@example.com."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}****@{domain}" if domain else "****"


def masked_report(report: Report | None) -> dict[str, Any] | None:
    """A report with its contact details masked, for views that leave the staff console."""
    if report is None:
        return None
    contact = dict(report.contact or {})
    if contact.get("email"):
        contact["email"] = mask_email(contact["email"])
    if contact.get("phone"):
        contact["phone"] = mask_phone(contact["phone"])
    fields = ("id", "kind", "description", "language", "last_legitimate_activity_at", "transactions",
              "reported_loss", "created_at")
    return {**{name: getattr(report, name) for name in fields}, "contact": contact}


def peer_views(session: Session, incident_id) -> dict[str, Any]:
    """The freeze requests sent for the case, and the peer's request it holds for, as the API shows them."""
    from app.api.peers import SentFreezeRequestOut
    from incidents.handoff.holds import hold_of
    from incidents.handoff.sending import sent_requests_of

    held = hold_of(session, incident_id=incident_id)
    peer_request = None
    if held is not None:
        hold, received = held
        peer_request = {"from_exchange": received.from_exchange, "request_id": received.request_id,
                        "case_reference": received.case_reference, "reference": received.reference,
                        "evidence_sha256": received.evidence_sha256, "chain": received.chain,
                        "deposits": received.deposits, "status": received.status, "hold": hold.status,
                        "addresses": hold.addresses, "release_reason": hold.release_reason}
    return {"freeze_requests": SentFreezeRequestOut(many=True).dump(sent_requests_of(session, incident_id=incident_id)),
            "peer_request": peer_request}
