"""Freeze requests between exchanges (API.md "Freeze requests between exchanges"): ours, and peers' to us."""
from __future__ import annotations

import uuid
from functools import wraps

from flask import current_app, g, request, url_for
from marshmallow import Schema, fields, validate

from app.api.parsing import Blueprint
from app.auth import require_staff
from app.db import utcnow
from kernel.errors import InvalidInput
from app.extensions import get_session, runtime
from app.peers import callback_url, evidence_writer, peers, wake_dispatcher
from incidents.handoff import sending
from incidents.handoff.holds import release_hold
from incidents.handoff.httpsig import verify_request
from incidents.handoff.peers import peer_keys
from incidents.handoff.receiving import receive_peer_request

blp = Blueprint("peers", __name__, url_prefix="/api/v1", description="Freeze requests between exchanges")
ADDRESS = validate.Length(min=1, max=128)
NAME = validate.Length(min=1, max=100)


class FreezeRequestIn(Schema):
    """Which peer to ask, and which of its addresses (default: every one the trace reached)."""

    exchange = fields.String(required=True, validate=NAME)
    addresses = fields.List(fields.String(validate=ADDRESS), load_default=None, validate=validate.Length(1, 100))


class SentFreezeRequestOut(Schema):
    """A request we sent, with the peer's answer and the acknowledgement clock."""

    id = fields.UUID()
    exchange = fields.String()
    status = fields.String()
    addresses = fields.List(fields.String())
    deposits = fields.List(fields.Dict())
    evidence_sha256 = fields.String()
    reference = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    created_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    ack_due_at = fields.DateTime()
    late = fields.Method("is_late")

    def is_late(self, request_row) -> bool:
        """Past PEER_ACK_HOURS with no answer."""
        return sending.is_late(request_row, utcnow())


class DepositIn(Schema):
    """One deposit the sender traced to us."""

    address = fields.String(required=True, validate=ADDRESS)
    tx_hash = fields.String(required=True, validate=validate.Length(min=1, max=128))
    asset = fields.String(required=True, validate=validate.Length(min=1, max=20))
    amount = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{1,40}(\.[0-9]{1,36})?$"))


class PeerFreezeRequestIn(Schema):
    """A peer's signed freeze request."""

    request_id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,100}$"))
    from_exchange = fields.String(required=True, validate=NAME)
    case_reference = fields.String(required=True, validate=NAME)
    chain = fields.String(required=True, validate=validate.Length(min=1, max=32))
    deposits = fields.List(fields.Nested(DepositIn), required=True, validate=validate.Length(min=1, max=200))
    evidence_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    callback_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                              validate=validate.Length(max=2000))


class PeerAnswerOut(Schema):
    """The receiver's first answer to a request id."""

    request_id = fields.String()
    status = fields.String()
    reference = fields.String()


class PeerStatusIn(Schema):
    """A peer's signed status update on a request we sent."""

    request_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    status = fields.String(required=True, validate=validate.OneOf(("acknowledged", "held", "declined", "released")))
    reference = fields.String(load_default=None, validate=NAME)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


def peer_signed(view):
    """Refuse (401, saying why) a request no configured peer signed, before its body is read."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        target = current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.full_path.rstrip("?")
        g.peer = peers()[verify_request(request.method, target, dict(request.headers), request.get_data(cache=True),
                                        keys=peer_keys(peers())).peer]
        return view(*args, **kwargs)
    return wrapper


@blp.route("/traces/<uuid:trace_id>/freeze-requests", methods=["POST"])
@blp.arguments(FreezeRequestIn())
@blp.response(202, SentFreezeRequestOut)
def post_freeze_request(data, trace_id: uuid.UUID):
    """Ask a peer exchange to hold the deposits this trace reached; delivered signed through the outbox."""
    principal = require_staff("agent")
    sent = sending.request_peer_freeze(
        get_session(), trace_id=trace_id, exchange=data["exchange"], addresses=data["addresses"], peers=peers(),
        own_name=current_app.config["EXCHANGE_NAME"], callback_url=callback_url(),
        ack_hours=current_app.config["PEER_ACK_HOURS"], write_evidence=evidence_writer(principal.actor),
        actor=principal.actor)
    return sent, 202, {"Location": url_for("peers.get_freeze_request", request_id=sent.id)}


class FreezeRequestListArgs(Schema):
    """Only the late ones?"""

    late = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class FreezeRequestPageOut(Schema):
    """The queue of requests sent to peers."""

    items = fields.List(fields.Nested(SentFreezeRequestOut))
    next_cursor = fields.String(allow_none=True)


@blp.route("/freeze-requests", methods=["GET"])
@blp.arguments(FreezeRequestListArgs(), location="query")
@blp.response(200, FreezeRequestPageOut)
def list_freeze_requests(args):
    """Requests sent to peers, soonest acknowledgement due first; `late=true`: those past PEER_ACK_HOURS."""
    require_staff()
    items = sending.list_sent_requests(get_session(), late_at=utcnow() if args["late"] else None,
                                       limit=args["limit"])
    return {"items": items, "next_cursor": None}


@blp.route("/freeze-requests/<uuid:request_id>", methods=["GET"])
@blp.response(200, SentFreezeRequestOut)
def get_freeze_request(request_id: uuid.UUID):
    """A request we sent: its status, the peer's reference, the acknowledgement clock."""
    require_staff()
    return sending.get_sent_request(get_session(), request_id=request_id)


@blp.route("/peer/freeze-requests", methods=["POST"])
@peer_signed
@blp.arguments(PeerFreezeRequestIn())
@blp.response(202, PeerAnswerOut)
@blp.alt_response(200, schema=PeerAnswerOut, description="A request id seen before: the first answer again")
def post_peer_freeze_request(data):
    """A peer asks us to hold deposits: a case and a withdrawal hold per account (a repeat: the first answer)."""
    config = current_app.config
    answer, repeated, commands = receive_peer_request(
        get_session(), peer=g.peer, body=data, exchange=runtime().ports.exchange,
        served_chains=set(config["PEER_CHAINS"]), sla_hours=config["SLA_HOURS"])
    if commands:
        wake_dispatcher()
    return answer, 200 if repeated else 202


@blp.route("/peer/freeze-requests/<request_id>/status", methods=["POST"])
@peer_signed
@blp.arguments(PeerStatusIn())
@blp.response(200, SentFreezeRequestOut)
def post_peer_status(data, request_id: str):
    """A peer's status update on a request we sent (the path's id and the body's must agree)."""
    if data["request_id"] != request_id:
        raise InvalidInput("request_id", "differs from the request id of the path")
    return sending.apply_peer_status(get_session(), peer=g.peer.name, body=data)


class ReleaseIn(Schema):
    """Why the hold is lifted (the peer is told)."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReleaseOut(Schema):
    """The unfreeze command queued."""

    command_id = fields.UUID(attribute="id")
    status = fields.String()


@blp.route("/incidents/<uuid:incident_id>/peer-hold/release", methods=["POST"])
@blp.arguments(ReleaseIn())
@blp.response(202, ReleaseOut)
def post_release_hold(data, incident_id: uuid.UUID):
    """Lift the hold a peer asked for, with a reason; audited and reported back to the peer."""
    principal = require_staff("agent", "risk_officer")
    command = release_hold(get_session(), incident_id=incident_id, reason=data["reason"], actor=principal.actor)
    wake_dispatcher()
    return command
