"""The audit chain: listing for officers and admins, verification for admins."""
from __future__ import annotations

from marshmallow import Schema, fields

from app.api.parsing import Blueprint
from app.api.schemas import AuditEventOut, PageArgs
from app.auth import require_staff
from app.extensions import get_session
from incidents.audit import list_events, verify_chain

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit chain")


class AuditListArgs(PageArgs):
    """Narrow the audit list to one incident."""

    incident_id = fields.UUID()


class AuditPageOut(Schema):
    """A page of audit events, oldest first."""

    items = fields.List(fields.Nested(AuditEventOut))
    next_cursor = fields.String(allow_none=True)


class ChainCheckOut(Schema):
    """The result of recomputing the chain."""

    valid = fields.Boolean()
    events = fields.Integer()
    head = fields.String(allow_none=True)
    first_bad_event = fields.Integer(allow_none=True)
    pending = fields.Integer(metadata={"description": "events committed but not yet linked by the sealer"})


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
    """Recompute the whole chain and name the first broken link."""
    require_staff("admin")
    return verify_chain(get_session())
