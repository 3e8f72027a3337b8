"""Console pages of handing a case on: the evidence bundle's download, freeze requests to and from peers."""
from __future__ import annotations

import uuid

from flask import Response, current_app, request
from flask_babel import gettext as _

from app.db import utcnow
from kernel.errors import InvalidInput
from app.evidence import instance_signer, render_case_pdf
from app.extensions import get_session, runtime
from app.peers import callback_url, evidence_writer, peers, wake_dispatcher
from app.web import console as console_pages
from app.web.console import case_action
from app.web.console_auth import staff_page
from app.web.messages import FormInput
from chain import service as chain_service
from incidents.handoff import sending
from incidents.handoff.bundle import LANGUAGES, write_bundle
from incidents.handoff.holds import release_hold


@console_pages.bp.get("/incidents/<uuid:incident_id>/evidence-bundle")
@staff_page("agent", "risk_officer", "admin")
def evidence_bundle(principal, incident_id: uuid.UUID):
    """Download the signed evidence bundle, case.pdf in the language chosen on the case page."""
    language = request.args.get("language") if request.args.get("language") in LANGUAGES else "en"
    bundle = write_bundle(get_session(), incident_id=incident_id, language=language, signer=instance_signer(),
                          store=runtime().ports.blob_store, render_pdf=render_case_pdf, actor=principal.actor)
    return Response(bundle.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{bundle.filename}"', "Cache-Control": "no-store"})


@console_pages.bp.post("/incidents/<uuid:incident_id>/freeze-requests")
@case_action("agent")
def send_freeze_request(principal, incident_id: uuid.UUID) -> str:
    """Ask a peer exchange to hold the deposits a trace of this case reached."""
    try:
        trace_id = uuid.UUID(request.form.get("trace_id", ""))
    except ValueError as error:
        raise InvalidInput("trace_id", "is not a trace of this case") from error
    if chain_service.get_trace(get_session(), trace_id=trace_id).incident_id != incident_id:
        raise InvalidInput("trace_id", "is not a trace of this case")
    sent = sending.request_peer_freeze(
        get_session(), trace_id=trace_id, exchange=request.form.get("exchange", ""), addresses=None,
        peers=peers(), own_name=current_app.config["EXCHANGE_NAME"], callback_url=callback_url(),
        ack_hours=current_app.config["PEER_ACK_HOURS"], write_evidence=evidence_writer(principal.actor),
        actor=principal.actor)
    return _("The freeze request to %(exchange)s is queued.", exchange=sent.exchange)


@console_pages.bp.post("/incidents/<uuid:incident_id>/peer-hold/release")
@case_action("agent", "risk_officer")
def release_peer_hold(principal, incident_id: uuid.UUID) -> str:
    """Lift the hold a peer asked for; the reason is required and goes back to the peer."""
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        raise FormInput(_("Give the reason for releasing the hold."))
    release_hold(get_session(), incident_id=incident_id, reason=reason[:2000], actor=principal.actor)
    wake_dispatcher()
    return _("The hold is released; the requesting exchange is told.")


def peer_case(incident_id: uuid.UUID, traces) -> dict:
    """What the case page shows of peers: requests sent, the peer's request held for, peers a trace reached."""
    from app.casefile import peer_views

    views = peer_views(get_session(), incident_id)
    offers = [(entry["trace"].id, name) for entry in traces if entry["trace"].status == "done"
              for name in sorted(peers()) if sending.reached_addresses(entry["trace"].findings or [], name)]
    return {**views, "offers": offers}


def late_peer_requests() -> list:
    """Requests sent to peers and not acknowledged in time (the queue flags them)."""
    return sending.list_sent_requests(get_session(), late_at=utcnow(), limit=20)


def init_app(app) -> None:
    """The case page's and the queue's helpers."""
    app.add_template_global(peer_case)
    app.add_template_global(late_peer_requests)
