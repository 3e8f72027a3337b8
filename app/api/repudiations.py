"""The "this wasn't me" links as JSON: look at one (changes nothing), use one (refreezes once, files a report)."""
from __future__ import annotations

from flask import current_app, request
from marshmallow import Schema, fields

from app.api.fields import FullMatch, Timestamp
from app.api.parsing import Blueprint
from app.containment import file_repudiation
from app.extensions import get_session
from incidents import repudiation

blp = Blueprint("repudiations", __name__, url_prefix="/api/v1", description="One-time repudiation links")

TOKEN = FullMatch(r"^[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$", error="is not a link token")


class TokenIn(Schema):
    """The token part of a link (sent in the body, so it stays out of access logs)."""

    token = fields.String(required=True, validate=TOKEN)


class LinkOut(Schema):
    """What a link would do."""

    state = fields.String(metadata={"enum": ["valid", "used", "expired"]})
    reference = fields.String()
    notice = fields.String(attribute="repudiation.notice")
    expires_at = Timestamp(attribute="repudiation.expires_at")


class RepudiatedOut(Schema):
    """The report filed for the owner and the case it went to."""

    reference = fields.String(attribute="intake.incident.reference")
    containment = fields.String(attribute="intake.incident.containment")
    attached = fields.Boolean(attribute="intake.attached")
    cancelled_unfreeze_requests = fields.Method("cancelled_ids")

    def cancelled_ids(self, result) -> list[str]:
        """The unfreeze requests the repudiation stopped."""
        return [str(item.id) for item in result.cancelled]


@blp.route("/repudiations/inspect", methods=["POST"])
@blp.arguments(TokenIn())
@blp.response(200, LinkOut)
def inspect(data):
    """Say whether a link is valid, used or expired, without using it."""
    return repudiation.inspect_link(get_session(), token=data["token"], key=current_app.config["SECRET_KEY"])


@blp.route("/repudiations", methods=["POST"])
@blp.arguments(TokenIn())
@blp.response(201, RepudiatedOut)
def post_repudiation(data):
    """Use a link once: freeze the account again and file a report (410 once used or expired)."""
    return file_repudiation(data["token"], client_address=request.remote_addr), 201
