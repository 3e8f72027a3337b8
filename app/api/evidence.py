"""The evidence bundle of a case (API.md "Handing the case on")."""
from __future__ import annotations

import uuid

from flask import Response
from app.api.parsing import Blueprint
from marshmallow import Schema, fields, validate

from app.auth import require_staff
from app.evidence import instance_signer, render_case_pdf
from app.extensions import get_session, runtime
from incidents.handoff.bundle import LANGUAGES, write_bundle

blp = Blueprint("evidence", __name__, url_prefix="/api/v1", description="Evidence bundles")


class BundleArgs(Schema):
    """The language of case.pdf."""

    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


@blp.route("/incidents/<uuid:incident_id>/evidence-bundle", methods=["GET"])
@blp.arguments(BundleArgs(), location="query")
@blp.response(200, content_type="application/zip")
def get_evidence_bundle(args, incident_id: uuid.UUID):
    """The signed zip of the case's evidence; writing it is an audit event."""
    principal = require_staff("agent", "risk_officer", "admin")
    bundle = write_bundle(get_session(), incident_id=incident_id, language=args["language"],
                          signer=instance_signer(), store=runtime().ports.blob_store,
                          render_pdf=render_case_pdf, actor=principal.actor)
    return Response(bundle.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{bundle.filename}"', "X-Content-SHA256": bundle.sha256,
        "Cache-Control": "no-store"})
