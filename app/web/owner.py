"""The owner's pages: report, the answer with the access link, the case page with verification and unfreeze."""
from __future__ import annotations

import uuid
from functools import wraps

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from app.containment import file_report
from kernel.errors import DomainError
from app.edge import local_path
from app.extensions import get_session, limiter, runtime
from app.web import LANGUAGE_COOKIE, LOCALES, forms, now, page_locale, protect_pages
from app.web.casepage import owner_case
from app.web.threads import thread_for
from app.web.messages import FormInput, explain
from app.web.owner_access import grant_from_token, owner_principal, remember
from incidents import ownership, review
from incidents.access import resolve_token
from incidents.intake import REPORT_KINDS
from verification.codes import derive_code_key

bp = Blueprint("owner", __name__)
ANSWER_KEY = "report_answer"
ONE_YEAR = 365 * 24 * 3600


protect_pages(bp)


def page_language() -> str:
    """The report language the API knows for the page's locale."""
    return "zh-CN" if page_locale() == "zh_CN" else "en"


@bp.get("/")
def home():
    """The front door is the report form."""
    return redirect(url_for("owner.report_form"))


@bp.get("/language")
def switch_language():
    """Remember the chosen language and go back to the page the switch was on."""
    chosen = request.args.get("to")
    response = redirect(local_path(request.args.get("next"), "/"))
    if chosen in LOCALES:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=ONE_YEAR, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


@bp.get("/report")
def report_form():
    """The report form."""
    return render_template("owner/report.html", form=forms.ReportForm(), kinds=REPORT_KINDS,
                           chains=forms.CHAINS, rows=range(forms.TRANSACTION_ROWS))


def _report_account_key() -> str:
    """The same per-account rate-limit key as the API's report endpoint."""
    return f"report-account:{request.form.get('account_id', '').strip()}"


@bp.post("/report")
@limiter.limit(lambda: current_app.config["REPORT_RATE_LIMIT"])
@limiter.limit(lambda: current_app.config["REPORT_ACCOUNT_RATE_LIMIT"], key_func=_report_account_key)
def submit_report_form():
    """File the report (the account is frozen in this request where possible), then show the answer."""
    form = forms.read_report_form(request.form, language=page_language())
    if not form.is_valid:
        return render_template("owner/report.html", form=form, kinds=REPORT_KINDS, chains=forms.CHAINS,
                               rows=range(forms.TRANSACTION_ROWS)), 422
    result = file_report(form.data, client_address=request.remote_addr)
    remember(resolve_token(get_session(), result.access_token))
    # Shown once on the next page, then dropped from the session (post/redirect/get).
    session[ANSWER_KEY] = {"incident_id": str(result.incident.id), "token": result.access_token,
                           "attached": result.attached}
    return redirect(url_for("owner.report_answer"), 303)


@bp.get("/report/answer")
def report_answer():
    """The incident reference and the access link, shown once."""
    answer = session.pop(ANSWER_KEY, None)
    if answer is None:
        return redirect(url_for("owner.report_form"))
    incident_id = uuid.UUID(answer["incident_id"])
    principal = owner_principal(incident_id)
    case = _case(incident_id, principal)
    link = url_for("owner.case_page", incident_id=incident_id, t=answer["token"], _external=True)
    return render_template("owner/answer.html", case=case, link=link, attached=answer["attached"])


@bp.get("/i/<uuid:incident_id>")
def case_page(incident_id: uuid.UUID):
    """The case page; an access link's token is exchanged for the session cookie and dropped from the URL."""
    token = request.args.get("t")
    if token:
        grant_from_token(incident_id, token)
        return redirect(url_for("owner.case_page", incident_id=incident_id), 303)
    principal = owner_principal(incident_id)
    return render_template("owner/case.html", case=_case(incident_id, principal),
                           thread=thread_for(incident_id, principal))


def _case(incident_id: uuid.UUID, principal):
    """The owner's case as the page shows it."""
    return owner_case(get_session(), incident_id=incident_id, principal=principal,
                      policy=runtime().ports.review_policy, now=now(),
                      trust_days=current_app.config["FACTOR_TRUST_DAYS"],
                      unfreeze_url=url_for("owner.request_unfreeze", incident_id=incident_id))


def owner_action(view=None, *, anchor: str = "verify", factor: str | None = None):
    """A POST on the case page: check access, run the step, tell the outcome, go back to the page."""
    if view is None:
        return lambda actual: owner_action(actual, anchor=anchor, factor=factor)

    @wraps(view)
    def wrapper(incident_id: uuid.UUID):
        principal = owner_principal(incident_id)
        try:
            message = view(incident_id, principal)
        except DomainError as error:
            get_session().rollback()
            flash(explain(error, factor=factor, at=now()), "error")
        else:
            if message:
                flash(message, "success")
        return redirect(url_for("owner.case_page", incident_id=incident_id) + "#" + anchor, 303)
    return wrapper


def _latest(incident_id: uuid.UUID, principal):
    """This reporter's newest verification, or a conflict the owner is told about."""
    found = ownership.own_verification(get_session(), incident_id=incident_id, actor=principal.actor)
    if found is None:
        raise FormInput(_("Start the verification first."))
    return found


def _code_key() -> bytes:
    """The key SMS codes are hashed with."""
    return derive_code_key(current_app.config["SECRET_KEY"])


@bp.post("/i/<uuid:incident_id>/verification")
@owner_action
def start_verification(incident_id, principal):
    """Start proving ownership with the authenticator app and a text message."""
    ownership.start_owner_verification(get_session(), incident_id=incident_id, actor=principal.actor,
                                       trust_days=current_app.config["FACTOR_TRUST_DAYS"],
                                       exchange=runtime().ports.exchange, now=now())
    return _("Verification started. Enter the codes below.")


@bp.post("/i/<uuid:incident_id>/verification/sms")
@owner_action
def send_sms(incident_id, principal):
    """Send a code by text message to the phone registered at the exchange."""
    found = _latest(incident_id, principal)
    ownership.send_owner_sms(get_session(), verification_id=found.id, gateway=runtime().ports.sms,
                             code_key=_code_key(), actor=principal.actor, now=now())
    check = found.factor("sms")
    return _("We sent a code to %(phone)s. It is valid for 10 minutes.",
             phone=check.destination if check else "")


@bp.post("/i/<uuid:incident_id>/verification/sms/check")
@owner_action(factor="sms")
def check_sms(incident_id, principal):
    """Check the text-message code."""
    code = _require_code()
    found = _latest(incident_id, principal)
    ownership.check_owner_sms(get_session(), verification_id=found.id, code=code, code_key=_code_key(),
                              actor=principal.actor, now=now())
    return _("Text message code accepted.")


@bp.post("/i/<uuid:incident_id>/verification/totp")
@owner_action(factor="totp")
def check_totp(incident_id, principal):
    """Check the authenticator-app code."""
    code = _require_code()
    found = _latest(incident_id, principal)
    ownership.check_owner_totp(get_session(), verification_id=found.id, code=code, actor=principal.actor,
                               now=now())
    return _("Authenticator code accepted.")


@bp.post("/i/<uuid:incident_id>/unfreeze")
@owner_action(anchor="unfreeze")
def request_unfreeze(incident_id, principal):
    """Ask for the unfreeze after a passed verification."""
    review.raise_unfreeze_request(get_session(), incident_id=incident_id, actor=principal.actor,
                                  policy=runtime().ports.review_policy, now=now())
    return _("Your unfreeze request was sent. Our team is working through the checklist.")


def _require_code() -> str:
    """The posted six-digit code, or a refusal that says what a code looks like."""
    code = forms.read_code(request.form)
    if code is None:
        raise FormInput(_("Enter the 6 digits of the code."))
    return code

