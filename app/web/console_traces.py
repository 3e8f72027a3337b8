"""Console pages of one trace: the findings and graph, the letters to exchanges and to issuers."""
from __future__ import annotations

import uuid

from flask import render_template

from app.extensions import get_session
from app.web.chain_words import trace_svg
from app.web.console import bp
from app.web.console_auth import staff_page
from chain import service as chain_service


@bp.get("/traces/<uuid:trace_id>")
@staff_page()
def trace(principal, trace_id: uuid.UUID):
    """A trace: the transaction, the fund-flow graph, findings and the letters."""
    found = chain_service.get_trace(get_session(), trace_id=trace_id)
    return render_template("console/trace.html", principal=principal, trace=found, svg=trace_svg(found))


@bp.get("/traces/<uuid:trace_id>/letters")
@staff_page()
def letters(principal, trace_id: uuid.UUID):
    """The freeze-request letters to each exchange the funds reached."""
    found = chain_service.get_trace(get_session(), trace_id=trace_id)
    drafted = chain_service.draft_freeze_requests(get_session(), trace_id=trace_id)
    return render_template("console/letters.html", principal=principal, trace=found, letters=drafted)


@bp.get("/traces/<uuid:trace_id>/issuer-letters")
@staff_page()
def issuer_letters(principal, trace_id: uuid.UUID):
    """The requests to each stablecoin issuer whose tokens still sit at reached addresses."""
    found = chain_service.get_trace(get_session(), trace_id=trace_id)
    drafted = chain_service.draft_issuer_requests(get_session(), trace_id=trace_id)
    return render_template("console/issuer_letters.html", principal=principal, trace=found,
                           letters=drafted)
