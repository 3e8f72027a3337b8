"""The audit chain: listing for officers and admins, verification (with the signed checkpoints) for admins."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from app import audit_anchor
from app.api.fields import FullMatch
from app.api.parsing import Blueprint
from app.api.schemas import AuditEventOut, PageArgs
from app.auth import require_staff
from app.extensions import get_session, runtime
from incidents.audit import list_events

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit chain")
CURSOR = FullMatch(r"^[0-9]{1,18}$", error="is not a cursor this list gave out")


class AuditListArgs(PageArgs):
    """Narrow the audit list to one incident."""

    incident_id = fields.UUID()
    cursor = fields.String(load_default=None, validate=CURSOR)


class AuditPageOut(Schema):
    """A page of audit events, oldest first."""

    items = fields.List(fields.Nested(AuditEventOut))
    next_cursor = fields.String(allow_none=True)


class ChainCheckOut(Schema):
    """The result of recomputing the chain and holding it against the signed checkpoints."""

    valid = fields.Boolean()
    events = fields.Integer()
    head = fields.String(allow_none=True)
    first_bad_event = fields.Integer(allow_none=True)
    pending = fields.Integer(metadata={"description": "events committed but not yet linked by the sealer"})
    checkpoints = fields.Integer(metadata={"description": "signed checkpoints the chain was held against"})
    checkpoint_seq = fields.Integer(allow_none=True, metadata={"description": "the newest stored checkpoint's seq"})
    problems = fields.List(fields.String(), metadata={"description": "what does not hold, first the chain's break"})


class ExportedCheckpointIn(Schema):
    """A checkpoint as `flask audit checkpoint --export` wrote it."""

    seq = fields.Integer(required=True, validate=validate.Range(min=1))
    head = fields.String(required=True, validate=FullMatch(r"^[0-9a-f]{64}$", error="must be 64 hex digits"))
    created_at = fields.String(required=True, validate=validate.Length(min=1, max=40))
    key_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    algorithm = fields.String(required=True, validate=validate.OneOf(("ed25519",)))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    signature = fields.String(required=True, validate=validate.Length(min=1, max=128))


@blp.route("/audit", methods=["GET"])
@blp.arguments(AuditListArgs(), location="query")
@blp.response(200, AuditPageOut)
def list_audit(args):
    """Audit events, oldest first, optionally for one incident."""
    require_staff("risk_officer")
    return list_events(get_session(), incident_id=args.get("incident_id"), limit=args["limit"],
                       cursor=args["cursor"])


@blp.route("/audit/verify", methods=["GET"])
@blp.response(200, ChainCheckOut)
def verify_audit():
    """Recompute the whole chain, hold it against the stored checkpoints, name what does not hold."""
    require_staff("admin")
    return audit_anchor.verify(get_session(), runtime().ports.signing_key)


@blp.route("/audit/verify", methods=["POST"])
@blp.arguments(ExportedCheckpointIn())
@blp.response(200, ChainCheckOut)
def verify_audit_against(data):
    """As GET, and against an exported checkpoint kept off the database."""
    require_staff("admin")
    return audit_anchor.verify(get_session(), runtime().ports.signing_key, exported=data)
