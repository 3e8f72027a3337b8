"""The staff console: sign-in, the queue by SLA, the case page, traces, the audit view."""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app import audit_anchor
from app.containment import dispatch_after_commit
from kernel.errors import DomainError, NotFound
from app.edge import local_path
from app.extensions import get_session, limiter, runtime
from app.jobs_tracing import wake_tracer
from app.web import now, protect_pages
from app.web.casepage import staff_case
from app.web.threads import console_thread
from app.web.console_auth import end_all_sessions, sign_in, staff_page
from app.web.forms import CHAINS, read_code
from app.web.messages import FormInput
from app.web.refusals import refusal_text, sign_in_paused
from chain import service as chain_service
from incidents import audit, ownership, review
from incidents.casework import change_status, freeze_manually
from incidents.owner_language import owner_language
from incidents.queue import SORTS, IncidentFilter, list_incidents
from incidents.staff import SignInRefused
from incidents.states import CONTAINMENT_TRANSITIONS, INCIDENT_TRANSITIONS

bp = Blueprint("console", __name__, url_prefix="/console")
SESSION_END_REASONS = {"expired", "idle", "signed_out"}
QUEUES = ("support", "risk")
WORKING_ROLES = ("agent", "risk_officer")


protect_pages(bp)


def _safe_next(target: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    return local_path(target, url_for("console.queue"))


@bp.get("/sign-in")
def sign_in_form():
    """The sign-in form; says why when a session has just ended."""
    reason = request.args.get("reason")
    return render_template("console/sign_in.html", reason=reason if reason in SESSION_END_REASONS else None,
                           next=_safe_next(request.args.get("next")), name="")


@bp.post("/sign-in")
@limiter.limit(lambda: current_app.config["CONSOLE_SIGN_IN_RATE_LIMIT"])
def sign_in_submit():
    """Password and the staff member's own current TOTP code."""
    name = (request.form.get("name") or "").strip()
    code = read_code(request.form)
    target = _safe_next(request.form.get("next"))
    try:
        if code is None:
            raise SignInRefused("a six-digit code is required")
        sign_in(name=name, password=request.form.get("password") or "", code=code)
    except DomainError as error:
        get_session().rollback()
        status = 429 if error.slug == "too-many-attempts" else 401
        message = sign_in_paused(error) if status == 429 else _(
            "The name, password or code is not correct. Each code works once: if you just used this one, wait "
            "for the next code (they change every 30 seconds).")
        return render_template("console/sign_in.html", error=message, next=target, name=name, reason=None), status
    return redirect(target, 303)


@bp.post("/sign-out")
def sign_out_submit():
    """End the console session here and on every other device."""
    end_all_sessions()
    flash(_("You are signed out."), "success")
    return redirect(url_for("console.sign_in_form"), 303)


@bp.get("/")
@staff_page()
def queue(principal):
    """Open cases, soonest SLA first, with filters."""
    args = request.args
    status = args.get("status", "active")  # cases still being worked unless staff ask for ended ones too
    filters = IncidentFilter(
        status=status if status in INCIDENT_TRANSITIONS else None, active_only=status == "active",
        containment=args.get("containment") if args.get("containment") in CONTAINMENT_TRANSITIONS else None,
        queue=args.get("queue") if args.get("queue") in QUEUES else None,
        account_id=(args.get("account_id") or "").strip()[:64] or None)
    sort = args.get("sort") if args.get("sort") in SORTS else "sla_due_at"
    page = list_incidents(get_session(), filters=filters, sort=sort, limit=50, cursor=args.get("cursor") or None)
    return render_template("console/queue.html", principal=principal, page=page, filters=filters, sort=sort,
                           status_choice=status if filters.status or filters.active_only else "",
                           statuses=INCIDENT_TRANSITIONS, containments=CONTAINMENT_TRANSITIONS, queues=QUEUES)


@bp.get("/incidents/<uuid:incident_id>")
@staff_page()
def incident(principal, incident_id: uuid.UUID):
    """The whole case: state, reports, anomalies, verification, traces, unfreeze review, timeline."""
    session = get_session()
    case = staff_case(session, incident_id=incident_id, policy=runtime().ports.review_policy, now=now(),
                      trust_days=current_app.config["FACTOR_TRUST_DAYS"])
    allowed = sorted(INCIDENT_TRANSITIONS[case.incident.status])
    standing = (review.decision_standing(session, request=case.unfreeze_request, staff_id=principal.id,
                                         role=principal.role) if case.unfreeze_request is not None else None)
    return render_template("console/incident.html", principal=principal, case=case, allowed=allowed, chains=CHAINS,
                           thread=console_thread(incident_id, principal, owner_language(session, incident_id=incident_id)),
                           standing=standing,
                           traceable=set(runtime().ports.explorers))


def case_action(*roles: str):
    """A POST on a case page: role check, the use case, the outcome told, back to the case."""
    def decorate(view):
        @staff_page(*roles)
        def wrapper(principal, incident_id: uuid.UUID, **kwargs):
            try:
                message = view(principal, incident_id, **kwargs)
            except DomainError as error:
                get_session().rollback()
                flash(refusal_text(error), "error")
            else:
                flash(message, "success")
            return redirect(url_for("console.incident", incident_id=incident_id), 303)
        wrapper.__name__ = view.__name__
        return wrapper
    return decorate


@bp.post("/incidents/<uuid:incident_id>/status")
@case_action(*WORKING_ROLES)
def move_status(principal, incident_id):
    """Move the ticket along its transition table."""
    to = request.form.get("to") or ""
    change_status(get_session(), incident_id=incident_id, to=to, reason=request.form.get("reason") or None,
                  actor=principal.actor)
    return _("Status changed.")


@bp.post("/incidents/<uuid:incident_id>/freeze")
@case_action(*WORKING_ROLES)
def freeze(principal, incident_id):
    """Freeze the account by hand."""
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        raise FormInput(_("Give a reason for the freeze."))
    scope = "withdrawals" if request.form.get("scope") == "withdrawals" else "full"
    session = get_session()
    command = freeze_manually(session, incident_id=incident_id, scope=scope, reason=reason, actor=principal.actor)
    # No read in between: it would open a transaction, and on SQLite hold the lock the freeze's claim needs.
    dispatch_after_commit(None, command)
    return _("Freeze requested.")


@bp.post("/incidents/<uuid:incident_id>/traces")
@case_action(*WORKING_ROLES)
def trace_for_incident(principal, incident_id):
    """Trace a hash for this case (the reported ones or a withdrawal's)."""
    _request_trace(principal, incident_id=incident_id)
    return _("Trace queued.")


@bp.post("/incidents/<uuid:incident_id>/identity-review")
@case_action("risk_officer")
def identity_review(principal, incident_id):
    """A risk officer's attested manual identity review of the case's verification."""
    found = ownership.latest_verification(get_session(), incident_id=incident_id)
    evidence = (request.form.get("evidence") or "").strip()
    if found is None or not evidence:
        raise FormInput(_("Describe the evidence you checked."))
    decision = "approve" if request.form.get("decision") == "approve" else "reject"
    ownership.review_identity(get_session(), verification_id=found.id, officer_id=principal.id,
                              decision=decision, evidence=evidence)
    return _("Identity review recorded.")


def _request_of(incident_id: uuid.UUID, request_id: uuid.UUID) -> None:
    """404 unless the unfreeze request belongs to the case in the URL."""
    if not review.belongs_to(get_session(), request_id=request_id, incident_id=incident_id):
        raise NotFound("no such unfreeze request")


@bp.post("/incidents/<uuid:incident_id>/unfreeze/<uuid:request_id>/checklist/<item>")
@case_action(*WORKING_ROLES)
def attest_item(principal, incident_id, request_id: uuid.UUID, item: str):
    """Vouch for a checklist item the system cannot settle (or withdraw the word)."""
    _request_of(incident_id, request_id)
    status = "pending" if request.form.get("status") == "pending" else "done"
    review.attest_checklist_item(get_session(), request_id=request_id, item=item, status=status,
                                 note=(request.form.get("note") or "").strip() or None, actor=principal.actor,
                                 policy=runtime().ports.review_policy, now=now())
    return _("Checklist updated.")


@bp.post("/incidents/<uuid:incident_id>/unfreeze/<uuid:request_id>/decision")
@case_action("risk_officer")
def decide(principal, incident_id, request_id: uuid.UUID):
    """Approve or reject the unfreeze with a reason and the officer's own current code (step-up)."""
    _request_of(incident_id, request_id)
    code = read_code({"code": request.form.get("totp") or ""})
    reason = (request.form.get("reason") or "").strip()
    if code is None or not reason:
        raise FormInput(_("Give a reason and your 6-digit authenticator code."))
    decision = "reject" if request.form.get("decision") == "reject" else "approve"
    decided = review.decide_unfreeze_request(get_session(), request_id=request_id, officer_id=principal.id,
                                             decision=decision, reason=reason, totp=code,
                                             policy=runtime().ports.review_policy, now=now())
    if decided.status == "executing" and runtime().ports.dispatcher is not None:
        runtime().ports.dispatcher.wake()
    return _("Decision recorded.")


@bp.get("/unfreeze-requests")
@staff_page()
def unfreeze_queue(principal):
    """Open unfreeze requests, soonest SLA first."""
    status = request.args.get("status") if request.args.get("status") in review.REQUEST_STATUSES else "pending"
    page = review.list_unfreeze_requests(get_session(), status=status, limit=50,
                                         cursor=request.args.get("cursor") or None)
    return render_template("console/unfreeze_queue.html", principal=principal, page=page, status=status,
                           statuses=review.REQUEST_STATUSES)


def _request_trace(principal, *, incident_id: uuid.UUID | None):
    """Queue a trace from the posted chain, hash and depth, and wake the worker."""
    try:
        depth = int(request.form.get("depth") or 3)
    except ValueError:
        depth = -1
    trace = chain_service.request_trace(
        get_session(), chain=request.form.get("chain") or "", tx_hash=request.form.get("tx_hash") or "",
        depth=depth, incident_id=incident_id, requested_by=principal.actor,
        configured_chains=set(runtime().ports.explorers))
    wake_tracer()
    return trace


@bp.get("/traces")
@staff_page()
def trace_form(principal):
    """Paste any hash to trace it."""
    return render_template("console/trace_form.html", principal=principal, chains=CHAINS, error=None,
                           values={})


@bp.post("/traces")
@staff_page()
def trace_submit(principal):
    """Queue the trace and show its page."""
    try:
        trace = _request_trace(principal, incident_id=None)
    except DomainError as error:
        get_session().rollback()
        return render_template("console/trace_form.html", principal=principal, chains=CHAINS,
                               error=refusal_text(error), values=request.form), 422
    return redirect(url_for("console.trace", trace_id=trace.id), 303)


@bp.get("/audit")
@staff_page("risk_officer")
def audit_view(principal):
    """The audit chain, oldest first, optionally for one incident."""
    incident_id = _uuid_or_none(request.args.get("incident_id"))
    page = audit.list_events(get_session(), incident_id=incident_id, limit=100,
                             cursor=request.args.get("cursor") or None)
    return render_template("console/audit.html", principal=principal, page=page, incident_id=incident_id,
                           check=None)


@bp.post("/audit/verify")
@staff_page("admin")
def audit_verify(principal):
    """Recompute the whole chain, hold it against the signed checkpoints, name what does not hold."""
    audit.seal_all(get_session())
    check = audit_anchor.verify(get_session(), runtime().ports.signing_key)
    page = audit.list_events(get_session(), limit=100)
    return render_template("console/audit.html", principal=principal, page=page, incident_id=None, check=check)


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    """A UUID from a query string, or None for a missing or malformed one."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


# The trace pages register on this blueprint from a module of their own.
from app.web import console_reopen, console_traces  # noqa: E402,F401
