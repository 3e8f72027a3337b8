"""Schemas shared by several resources: incidents as staff and reporters see them, pages, problems."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from app.api.fields import Timestamp


class ProblemOut(Schema):
    """RFC 9457 problem details (application/problem+json); problem types may add members (RFC 9457 §3.2)."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String(allow_none=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    remaining_attempts = fields.Integer(metadata={"description": "wrong-code: tries left"})
    retry_after = fields.Float(allow_none=True, metadata={"description": "seconds until a retry may succeed"})
    current = fields.String(metadata={"description": "illegal-transition: the state now"})
    allowed = fields.List(fields.String(), metadata={"description": "illegal-transition: the states reachable"})


class IncidentSummaryOut(Schema):
    """What anyone allowed to see an incident sees of it."""

    id = fields.UUID()
    reference = fields.String()
    status = fields.String()
    containment = fields.String()
    created_at = Timestamp()
    sla_due_at = Timestamp()


class IncidentListItemOut(IncidentSummaryOut):
    """A row of the staff queue."""

    account_id = fields.String()
    kind = fields.String()
    source = fields.String()
    severity = fields.String()
    risk_score = fields.Integer()
    queue = fields.String()
    assignee_id = fields.UUID(allow_none=True)
    updated_at = Timestamp()


class ReportOut(Schema):
    """A stored report, as staff see it."""

    id = fields.UUID()
    kind = fields.String()
    description = fields.String()
    contact = fields.Dict()
    language = fields.String()
    last_legitimate_activity_at = Timestamp(allow_none=True)
    transactions = fields.List(fields.Dict())
    loss_usd = fields.String(attribute="reported_loss", allow_none=True)
    created_at = Timestamp()


class AnomalyOut(Schema):
    """A stored risk-engine event."""

    event_id = fields.String()
    type = fields.String()
    occurred_at = Timestamp()
    weight = fields.Integer()
    score = fields.Integer()
    action = fields.String()
    details = fields.Dict()
    received_at = Timestamp()


class IncidentOut(IncidentListItemOut):
    """The whole incident, for staff."""

    frozen_at = Timestamp(allow_none=True)
    closed_at = Timestamp(allow_none=True)
    first_suspicious_at = Timestamp(allow_none=True)
    reported_loss = fields.String(allow_none=True)
    reports = fields.List(fields.Nested(ReportOut))
    anomalies = fields.List(fields.Nested(AnomalyOut))
    transactions = fields.List(fields.Dict())
    withdrawals = fields.List(fields.Dict())
    verification = fields.Dict(allow_none=True)
    unfreeze_request = fields.Dict(allow_none=True)
    traces = fields.List(fields.Dict())
    freeze_requests = fields.List(fields.Dict(), metadata={"description": "requests sent to peer exchanges"})
    peer_request = fields.Dict(allow_none=True, metadata={"description": "the peer's request this case holds for"})


class ReporterIncidentOut(IncidentSummaryOut):
    """The redacted view a reporter's token gets: its own report, nothing of other reporters or staff."""

    kind = fields.String()
    updated_at = Timestamp()
    frozen_at = Timestamp(allow_none=True)
    report = fields.Nested(ReportOut, allow_none=True)
    transactions = fields.List(fields.Dict())
    verification = fields.Dict(allow_none=True)
    unfreeze_request = fields.Dict(allow_none=True)
    traces = fields.List(fields.Dict())


class AuditEventOut(Schema):
    """One link of the audit chain."""

    id = fields.Integer()
    occurred_at = Timestamp()
    actor = fields.String()
    action = fields.String()
    subject_type = fields.String()
    subject_id = fields.String()
    incident_id = fields.UUID(allow_none=True)
    data = fields.Dict()
    seq = fields.Integer(allow_none=True)
    prev_hash = fields.String(allow_none=True)
    hash = fields.String(allow_none=True)


class PageArgs(Schema):
    """?limit= and ?cursor= of every list."""

    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(load_default=None)

class FactorOut(Schema):
    """One factor of a verification (secrets and codes are never shown)."""

    kind = fields.String()
    status = fields.String()
    trusted = fields.Boolean()
    trust_reason = fields.String(allow_none=True)
    destination = fields.String(allow_none=True)


class VerificationOut(Schema):
    """A verification and its factors."""

    id = fields.UUID()
    incident_id = fields.UUID()
    status = fields.String(metadata={"enum": ["pending", "passed", "failed", "expired", "manual_review"]})
    expires_at = Timestamp()
    factors = fields.List(fields.Nested(FactorOut))
    manual_review_required = fields.Boolean()
    passed_at = Timestamp(allow_none=True)


class TraceOut(Schema):
    """A trace and, once done, what it found."""

    id = fields.UUID()
    status = fields.String(metadata={"enum": ["queued", "running", "done", "failed"]})
    chain = fields.String()
    tx_hash = fields.String()
    depth = fields.Integer()
    incident_id = fields.UUID(allow_none=True)
    transaction = fields.Dict(allow_none=True)
    graph = fields.Dict(allow_none=True)
    findings = fields.List(fields.Dict(), allow_none=True)
    error = fields.String(allow_none=True)
    round_trips = fields.Integer()
    created_at = Timestamp()
    finished_at = Timestamp(allow_none=True)
