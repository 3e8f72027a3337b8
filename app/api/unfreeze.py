"""Unfreeze review (API.md "Unfreeze review"): the owner asks, staff work the checklist, risk officers decide."""
from __future__ import annotations

import uuid

from flask import jsonify, url_for
from marshmallow import Schema, fields, validate

from app.api.fields import FullMatch, Timestamp
from app.api.parsing import Blueprint
from app.api.schemas import PageArgs
from app.auth import current_principal, require_incident_access, require_staff
from kernel.errors import Forbidden, NotFound
from app.extensions import get_session, runtime
from incidents import ownership, review
from incidents.checklist import ITEMS
from incidents.queue import REQUEST_CURSOR

blp = Blueprint("unfreeze", __name__, url_prefix="/api/v1", description="Unfreeze review")


class ChecklistItemOut(Schema):
    """One checklist item: done by the system's evidence (`auto`) or attested by staff (`by`, `at`)."""

    item = fields.String()
    status = fields.String(metadata={"enum": ["done", "pending"]})
    auto = fields.Boolean(attribute="is_auto")
    by = fields.String(allow_none=True)
    at = Timestamp(allow_none=True)
    note = fields.String(allow_none=True)


class DecisionOut(Schema):
    """A risk officer's decision."""

    officer_id = fields.UUID()
    decision = fields.String(metadata={"enum": ["approve", "reject"]})
    reason = fields.String()
    decided_at = Timestamp()


class UnfreezeRequestOut(Schema):
    """An unfreeze request as staff see it."""

    id = fields.UUID()
    incident_id = fields.UUID()
    status = fields.String(metadata={"enum": list(review.REQUEST_STATUSES)})
    checklist = fields.List(fields.Nested(ChecklistItemOut))
    approvals_required = fields.Integer()
    approvals = fields.Integer()
    decisions = fields.List(fields.Nested(DecisionOut))
    executes_at = Timestamp(metadata={"description": "the earliest time the unfreeze may be carried out"})
    withdrawal_cooldown_hours = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    raised_by = fields.String()
    created_at = Timestamp()
    decided_at = Timestamp(allow_none=True)
    executed_at = Timestamp(allow_none=True)
    completed_at = Timestamp(allow_none=True)


class OwnerChecklistItemOut(Schema):
    """A checklist item as the owner sees it (who attested stays internal)."""

    item = fields.String()
    status = fields.String()
    auto = fields.Boolean(attribute="is_auto")


class OwnerUnfreezeRequestOut(Schema):
    """The owner's view of their request: progress, no officer names or internal reasons."""

    id = fields.UUID()
    status = fields.String()
    checklist = fields.List(fields.Nested(OwnerChecklistItemOut))
    approvals_required = fields.Integer()
    approvals = fields.Integer()
    decisions = fields.Method("owner_decisions")
    executes_at = Timestamp()
    withdrawal_cooldown_hours = fields.Integer(allow_none=True)
    created_at = Timestamp()

    def owner_decisions(self, request) -> list[dict]:
        """Only what was decided and when."""
        return [{"decision": d.decision, "decided_at": Timestamp()._serialize(d.decided_at, None, None)}
                for d in request.decisions]


class UnfreezeListArgs(PageArgs):
    """Filter of the review queue."""

    status = fields.String(validate=validate.OneOf(review.REQUEST_STATUSES))
    cursor = fields.String(load_default=None,
                           validate=FullMatch(REQUEST_CURSOR, error="is not a cursor this list gave out"))


class UnfreezePageOut(Schema):
    """A page of the review queue, by SLA."""

    items = fields.List(fields.Nested(UnfreezeRequestOut))
    next_cursor = fields.String(allow_none=True)


class AttestationIn(Schema):
    """Staff vouch for an item (or withdraw their word with `pending`)."""

    status = fields.String(required=True, validate=validate.OneOf(("done", "pending")))
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class DecisionIn(Schema):
    """A risk officer's decision, with a reason and their own current TOTP code."""

    decision = fields.String(required=True, validate=validate.OneOf(review.DECISIONS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    totp = fields.String(required=True, validate=FullMatch(r"^[0-9]{6}$",
                                                                 error="must be exactly six digits 0-9"))


def _policy() -> review.ReviewPolicy:
    """The review's numbers from the settings."""
    return runtime().ports.review_policy


def _for_caller(request):
    """Staff see everything; the owner of the incident sees their redacted view; anyone else gets 404."""
    principal = current_principal()
    if principal.kind != "reporter":
        return request
    if principal.incident_id != request.incident_id:
        raise NotFound("no such unfreeze request")
    return jsonify(OwnerUnfreezeRequestOut().dump(request))


@blp.route("/incidents/<uuid:incident_id>/unfreeze-requests", methods=["POST"])
@blp.response(201, OwnerUnfreezeRequestOut)
def post_unfreeze_request(incident_id: uuid.UUID):
    """The owner asks for the unfreeze; 409 unless the account is frozen and the verification passed."""
    principal = require_incident_access(incident_id)
    if principal.kind != "reporter":
        raise Forbidden("the account owner asks for the unfreeze")
    request = review.raise_unfreeze_request(get_session(), incident_id=incident_id, actor=principal.actor,
                                            policy=_policy())
    return request, 201, {"Location": url_for("unfreeze.get_unfreeze_request", request_id=request.id)}


@blp.route("/unfreeze-requests", methods=["GET"])
@blp.arguments(UnfreezeListArgs(), location="query")
@blp.response(200, UnfreezePageOut)
def list_unfreeze_requests(args):
    """The review queue, by the incidents' SLA due time."""
    require_staff()
    return review.list_unfreeze_requests(get_session(), status=args.get("status"), limit=args["limit"],
                                         cursor=args["cursor"])


@blp.route("/unfreeze-requests/<uuid:request_id>", methods=["GET"])
@blp.response(200, UnfreezeRequestOut)
@blp.alt_response(200, schema=OwnerUnfreezeRequestOut, description="The owner's redacted view")
def get_unfreeze_request(request_id: uuid.UUID):
    """One request, its checklist re-judged from the evidence."""
    principal = current_principal()
    if principal.kind == "reporter" and not (
            review.belongs_to(get_session(), request_id=request_id, incident_id=principal.incident_id)
            and ownership.has_proven_ownership(get_session(), incident_id=principal.incident_id,
                                               actor=principal.actor)):
        raise NotFound("no such unfreeze request")
    return _for_caller(review.get_unfreeze_request(get_session(), request_id=request_id, policy=_policy()))


@blp.route("/unfreeze-requests/<uuid:request_id>/checklist/<string:item>", methods=["POST"])
@blp.arguments(AttestationIn())
@blp.response(200, UnfreezeRequestOut)
def post_checklist_item(data, request_id: uuid.UUID, item: str):
    """Staff attest an item the system cannot settle (identity_verified is the verification's alone)."""
    principal = require_staff("agent", "risk_officer")
    if item not in ITEMS:
        raise NotFound(f"no checklist item {item}")
    return review.attest_checklist_item(get_session(), request_id=request_id, item=item, status=data["status"],
                                        note=data["note"], actor=principal.actor, policy=_policy())


@blp.route("/unfreeze-requests/<uuid:request_id>/decisions", methods=["POST"])
@blp.arguments(DecisionIn())
@blp.response(200, UnfreezeRequestOut)
def post_decision(data, request_id: uuid.UUID):
    """A risk officer approves or rejects, with a reason and a step-up TOTP code."""
    principal = require_staff("risk_officer")
    request = review.decide_unfreeze_request(get_session(), request_id=request_id, officer_id=principal.id,
                                             decision=data["decision"], reason=data["reason"], totp=data["totp"],
                                             policy=_policy())
    if request.status == "executing" and runtime().ports.dispatcher is not None:
        runtime().ports.dispatcher.wake()
    return request
