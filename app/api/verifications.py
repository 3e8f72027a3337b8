"""Verification of the owner (API.md "Verification"): TOTP and SMS codes, manual identity review."""
from __future__ import annotations

import uuid

from flask import current_app, url_for
from marshmallow import Schema, fields, validate

from app.api.fields import FullMatch
from app.api.parsing import Blueprint
from app.api.schemas import VerificationOut
from app.auth import current_principal, require_incident_access, require_staff
from kernel.errors import Forbidden, NotFound
from app.extensions import get_session, runtime
from incidents import ownership
from incidents.access import Principal
from verification.codes import derive_code_key

blp = Blueprint("verifications", __name__, url_prefix="/api/v1", description="Owner verification")

SIX_DIGITS = FullMatch(r"^[0-9]{6}$", error="must be exactly six digits 0-9")




class CodeIn(Schema):
    """A one-time code: exactly six ASCII digits."""

    code = fields.String(required=True, validate=SIX_DIGITS)


class ManualReviewIn(Schema):
    """A risk officer's identity review."""

    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    evidence = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class SmsSentOut(Schema):
    """A code was sent."""

    resend_after = fields.Integer()


def owner_of(verification_id: uuid.UUID) -> Principal:
    """The reporter whose incident this verification belongs to (404 for anyone else's)."""
    principal = current_principal()
    found = ownership.get_verification(get_session(), verification_id=verification_id)
    if principal.kind != "reporter":
        raise Forbidden("codes are entered by the account owner")
    if principal.incident_id != found.incident_id or found.started_by != principal.actor:
        raise NotFound("no such verification")
    return principal


def code_key() -> bytes:
    """The key SMS codes are hashed with (derived from SECRET_KEY)."""
    return derive_code_key(current_app.config["SECRET_KEY"])


@blp.route("/incidents/<uuid:incident_id>/verifications", methods=["POST"])
@blp.response(201, VerificationOut)
def start_verification(incident_id: uuid.UUID):
    """Start proving the owner: a TOTP and an SMS factor, each judged trusted or not."""
    principal = require_incident_access(incident_id)
    found = ownership.start_owner_verification(get_session(), incident_id=incident_id, actor=principal.actor,
                                               trust_days=current_app.config["FACTOR_TRUST_DAYS"],
                                               exchange=runtime().ports.exchange)
    return found, 201, {"Location": url_for("verifications.get_verification", verification_id=found.id)}


@blp.route("/verifications/<uuid:verification_id>", methods=["GET"])
@blp.response(200, VerificationOut)
def get_verification(verification_id: uuid.UUID):
    """A verification's status and factors."""
    found = ownership.get_verification(get_session(), verification_id=verification_id)
    principal = require_incident_access(found.incident_id)
    if principal.kind == "reporter" and found.started_by != principal.actor:
        raise NotFound("no such verification")
    return found


@blp.route("/verifications/<uuid:verification_id>/sms", methods=["POST"])
@blp.response(202, SmsSentOut)
def send_sms(verification_id: uuid.UUID):
    """Send a code to the account's registered phone (resend after 60 s, at most 5 an hour)."""
    principal = owner_of(verification_id)
    return ownership.send_owner_sms(get_session(), verification_id=verification_id,
                                    gateway=runtime().ports.sms, code_key=code_key(), actor=principal.actor)


@blp.route("/verifications/<uuid:verification_id>/sms/check", methods=["POST"])
@blp.arguments(CodeIn())
@blp.response(200, VerificationOut)
def check_sms(data, verification_id: uuid.UUID):
    """Check the SMS code."""
    principal = owner_of(verification_id)
    return ownership.check_owner_sms(get_session(), verification_id=verification_id, code=data["code"],
                                     code_key=code_key(), actor=principal.actor)


@blp.route("/verifications/<uuid:verification_id>/totp", methods=["POST"])
@blp.arguments(CodeIn())
@blp.response(200, VerificationOut)
def check_totp(data, verification_id: uuid.UUID):
    """Check a code of the account's authenticator app."""
    principal = owner_of(verification_id)
    return ownership.check_owner_totp(get_session(), verification_id=verification_id, code=data["code"],
                                      actor=principal.actor)


@blp.route("/verifications/<uuid:verification_id>/manual-review", methods=["POST"])
@blp.arguments(ManualReviewIn())
@blp.response(200, VerificationOut)
def manual_review(data, verification_id: uuid.UUID):
    """A risk officer attests the identity review a verification with an untrusted factor needs."""
    principal = require_staff("risk_officer")
    return ownership.review_identity(get_session(), verification_id=verification_id, officer_id=principal.id,
                                     decision=data["decision"], evidence=data["evidence"])
