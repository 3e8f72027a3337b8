"""Incidents for staff, and the redacted view a reporter's token gets of its own."""
from __future__ import annotations

import uuid

from flask import jsonify, url_for
from marshmallow import Schema, fields, validate

from app.api.fields import ACCOUNT_ID, FullMatch
from app.api.parsing import Blueprint
from app.api.schemas import (
    AuditEventOut,
    IncidentListItemOut,
    IncidentOut,
    PageArgs,
    ReporterIncidentOut,
)
from app.auth import require_incident_access, require_staff
from app.casefile import reporter_view, staff_view
from app.containment import dispatch_after_commit, reopen
from app.extensions import get_session
from incidents import audit
from incidents.casework import change_status, freeze_manually
from incidents.queue import INCIDENT_CURSOR, SORTS, IncidentFilter, list_incidents
from incidents.queue import get_incident as load_incident
from incidents.states import CONTAINMENT_TRANSITIONS, INCIDENT_TRANSITIONS

blp = Blueprint("incidents", __name__, url_prefix="/api/v1", description="Incidents")


class IncidentListArgs(PageArgs):
    """Filters and sort of the queue."""

    status = fields.String(validate=validate.OneOf(tuple(INCIDENT_TRANSITIONS)))
    containment = fields.String(validate=validate.OneOf(tuple(CONTAINMENT_TRANSITIONS)))
    account_id = fields.String(validate=ACCOUNT_ID)
    queue = fields.String(validate=validate.OneOf(("support", "risk")))
    sort = fields.String(load_default="sla_due_at", validate=validate.OneOf(SORTS))
    cursor = fields.String(load_default=None,
                           validate=FullMatch(INCIDENT_CURSOR, error="is not a cursor this list gave out"))


class IncidentPageOut(Schema):
    """A page of the queue."""

    items = fields.List(fields.Nested(IncidentListItemOut))
    next_cursor = fields.String(allow_none=True)


class TransitionIn(Schema):
    """A move of the ticket's status."""

    to = fields.String(required=True, validate=validate.OneOf(tuple(INCIDENT_TRANSITIONS)))
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class FreezeIn(Schema):
    """A freeze ordered by staff."""

    scope = fields.String(load_default="full", validate=validate.OneOf(("full", "withdrawals")))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReopenIn(Schema):
    """Staff reopen a closed case, saying why."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CommandOut(Schema):
    """An exchange command in the outbox."""

    id = fields.UUID()
    action = fields.String()
    status = fields.String()
    attempts = fields.Integer()


class TimelineOut(Schema):
    """An incident's audit events, oldest first."""

    items = fields.List(fields.Nested(AuditEventOut))


@blp.route("/incidents", methods=["GET"])
@blp.arguments(IncidentListArgs(), location="query")
@blp.response(200, IncidentPageOut)
def list_incidents_route(args):
    """The queue, by SLA due time by default; keyset pagination."""
    require_staff()
    filters = IncidentFilter(**{k: args.get(k) for k in ("status", "containment", "account_id", "queue")})
    return list_incidents(get_session(), filters=filters, sort=args["sort"], limit=args["limit"],
                          cursor=args["cursor"])


@blp.route("/incidents/<uuid:incident_id>", methods=["GET"])
@blp.response(200, IncidentOut)
@blp.alt_response(200, schema=ReporterIncidentOut, description="A reporter's redacted view")
def get_incident(incident_id: uuid.UUID):
    """One incident: everything for staff, a redacted view for its reporter."""
    principal = require_incident_access(incident_id)
    incident = load_incident(get_session(), incident_id=incident_id)
    if principal.kind == "reporter":
        return jsonify(ReporterIncidentOut().dump(reporter_view(get_session(), incident, principal)))
    return staff_view(get_session(), incident)


@blp.route("/incidents/<uuid:incident_id>/timeline", methods=["GET"])
@blp.response(200, TimelineOut)
def get_timeline(incident_id: uuid.UUID):
    """The incident's audit events, oldest first."""
    require_staff()
    load_incident(get_session(), incident_id=incident_id)
    return {"items": audit.timeline(get_session(), incident_id=incident_id)}


@blp.route("/incidents/<uuid:incident_id>/transitions", methods=["POST"])
@blp.arguments(TransitionIn())
@blp.response(200, IncidentListItemOut)
def post_transition(data, incident_id: uuid.UUID):
    """Move the ticket's status; 409 illegal-transition for a move the table does not list."""
    principal = require_staff("agent", "risk_officer")
    return change_status(get_session(), incident_id=incident_id, to=data["to"], reason=data["reason"],
                         actor=principal.actor)


@blp.route("/incidents/<uuid:incident_id>/freeze", methods=["POST"])
@blp.arguments(FreezeIn())
@blp.response(202, CommandOut)
def post_freeze(data, incident_id: uuid.UUID):
    """Freeze the account by hand (full, or withdrawals only)."""
    principal = require_staff("agent", "risk_officer")
    session = get_session()
    command = freeze_manually(session, incident_id=incident_id, scope=data["scope"], reason=data["reason"],
                              actor=principal.actor)
    dispatch_after_commit(None, command)
    return command, 202, {"Location": url_for("incidents.get_incident", incident_id=incident_id)}


@blp.route("/incidents/<uuid:incident_id>/reopen", methods=["POST"])
@blp.arguments(ReopenIn())
@blp.response(200, IncidentListItemOut)
def post_reopen(data, incident_id: uuid.UUID):
    """Reopen a closed case (→ in_progress, fresh SLA); an account never frozen is frozen again, once.
    409 when the case is not closed (a second click) or a newer case of the account is open."""
    principal = require_staff("agent", "risk_officer")
    return reopen(incident_id, reason=data["reason"], actor=principal.actor).incident
