"""The case file: an incident with what every domain knows of it, as staff and as its reporter see it."""
from __future__ import annotations

from typing import Any

from incidents.access import Principal
from incidents.models import Incident, Report
from verification.sms import mask_phone


def transactions_of(incident: Incident) -> list[dict[str, Any]]:
    """Every transaction the reports named, once each."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for report in incident.reports:
        for tx in report.transactions:
            seen.setdefault((tx["chain"], tx["hash"].lower()), {"chain": tx["chain"], "hash": tx["hash"],
                                                                "source": "report"})
    return list(seen.values())


def staff_view(incident: Incident) -> dict[str, Any]:
    """Everything about the incident, for staff."""
    view = {column: getattr(incident, column) for column in (
        "id", "reference", "account_id", "kind", "source", "severity", "risk_score", "status", "containment",
        "queue", "sla_due_at", "assignee_id", "created_at", "updated_at", "frozen_at", "closed_at",
        "first_suspicious_at", "reported_loss", "reports", "anomalies")}
    view.update(transactions=transactions_of(incident), withdrawals=[], verification=None,
                unfreeze_request=None, traces=[])
    return view


def reporter_view(incident: Incident, principal: Principal) -> dict[str, Any]:
    """The redacted view: the reporter's own report and the case's progress, nothing else."""
    own = next((report for report in incident.reports if report.id == principal.report_id), None)
    own_transactions = [{"chain": tx["chain"], "hash": tx["hash"]} for tx in (own.transactions if own else [])]
    return {
        "id": incident.id, "reference": incident.reference, "status": incident.status,
        "containment": incident.containment, "created_at": incident.created_at,
        "sla_due_at": incident.sla_due_at, "updated_at": incident.updated_at, "kind": incident.kind,
        "frozen_at": incident.frozen_at, "report": masked_report(own), "transactions": own_transactions,
        "verification": None, "unfreeze_request": None, "traces": [],
    }


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
