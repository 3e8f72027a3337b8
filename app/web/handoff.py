"""Console pages of handing a case on: the evidence bundle's download."""
from __future__ import annotations

import uuid

from flask import Response, request

from app.evidence import instance_signer, render_case_pdf
from app.extensions import get_session, runtime
from app.web import console as console_pages
from app.web.console_auth import staff_page
from incidents.handoff.bundle import LANGUAGES, write_bundle


@console_pages.bp.get("/incidents/<uuid:incident_id>/evidence-bundle")
@staff_page("agent", "risk_officer", "admin")
def evidence_bundle(principal, incident_id: uuid.UUID):
    """Download the signed evidence bundle, case.pdf in the language chosen on the case page."""
    language = request.args.get("language") if request.args.get("language") in LANGUAGES else "en"
    bundle = write_bundle(get_session(), incident_id=incident_id, language=language, signer=instance_signer(),
                          store=runtime().ports["blob_store"], render_pdf=render_case_pdf, actor=principal.actor)
    return Response(bundle.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{bundle.filename}"', "Cache-Control": "no-store"})
