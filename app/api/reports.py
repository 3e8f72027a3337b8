"""POST /api/v1/reports: the public intake that freezes the account."""
from __future__ import annotations

from flask import current_app, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.fields import (
    ACCOUNT_ID,
    CHAIN_NAME,
    LANGUAGES,
    DecimalString,
    Timestamp,
    transaction_hash_is_valid,
)
from app.api.schemas import IncidentSummaryOut
from app.containment import file_report
from app.extensions import limiter, report_account_key
from app.idempotency import idempotent
from incidents.intake import REPORT_KINDS

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Owner reports (public)")


class ContactIn(Schema):
    """How the owner can be reached about this report."""

    email = fields.Email(validate=validate.Length(max=254))
    phone = fields.String(validate=validate.Regexp(r"^\+[1-9][0-9]{6,14}$", error="must be E.164, e.g. +15550001"))


class TransactionIn(Schema):
    """A transaction the owner did not make."""

    chain = fields.String(required=True, validate=CHAIN_NAME)
    hash = fields.String(required=True, validate=validate.Length(max=66),
                         metadata={"pattern": r"^(0x)?[0-9a-fA-F]{64}$",
                                   "description": "EVM chains: 0x and 64 hex digits; bitcoin and tron: "
                                                  "64 hex digits"})

    @validates_schema
    def hash_fits_chain(self, data, **_kwargs):
        """Bitcoin: 64 hex digits; EVM chains: 0x and 64 hex digits."""
        if "chain" in data and "hash" in data and not transaction_hash_is_valid(data["chain"], data["hash"]):
            raise ValidationError("is not a transaction hash of this chain", field_name="hash")


class ReportIn(Schema):
    """A report of a stolen or misused account."""

    account_id = fields.String(required=True, validate=ACCOUNT_ID)
    kind = fields.String(required=True, validate=validate.OneOf(REPORT_KINDS))
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    contact = fields.Nested(ContactIn, load_default=dict)
    last_legitimate_activity_at = Timestamp(load_default=None)
    transactions = fields.List(fields.Nested(TransactionIn), load_default=list,
                               validate=validate.Length(max=20))
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    loss_usd = DecimalString(load_default=None, metadata={"description": "estimated loss in USD"})


class ReportAnswerOut(Schema):
    """The answer to a report: the incident, the access token (shown once), whether it was attached."""

    incident = fields.Nested(IncidentSummaryOut)
    access_token = fields.String()
    attached = fields.Boolean()


@blp.route("/reports", methods=["POST"])
@limiter.limit(lambda: current_app.config["REPORT_RATE_LIMIT"])
@limiter.limit(lambda: current_app.config["REPORT_ACCOUNT_RATE_LIMIT"], key_func=report_account_key)
@idempotent("reports")
@blp.arguments(ReportIn())
@blp.response(201, ReportAnswerOut)
@blp.alt_response(200, schema=ReportAnswerOut, description="Attached to the account's open incident")
def post_report(data):
    """Report a stolen account: it is frozen at the exchange within this request where possible."""
    result = file_report(data, client_address=request.remote_addr)
    location = url_for("incidents.get_incident", incident_id=result.incident.id)
    return result, 200 if result.attached else 201, {"Location": location}
