"""The owner's ways on from a dead end: the case link sent again, the report taken back, the account checked again."""
from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.extensions import get_session, limiter, runtime
from app.web import now
from app.web.messages import FormInput
from app.web.owner import bp, owner_action
from incidents import ownership
from incidents.case_link import request_case_link
from incidents.take_back import take_back_report as close_as_false_report


def _link_sent() -> str:
    """The same answer whether or not a case exists: nobody learns about someone else's account here."""
    return _("If there is an open case for this account, we sent its private link to the email address and "
             "phone number registered at the exchange. Check them in a few minutes.")


@bp.post("/i/<uuid:incident_id>/case-link")
@limiter.limit(lambda: current_app.config["CASE_LINK_RATE_LIMIT"])
@owner_action(anchor="case-link")
def resend_case_link(incident_id: uuid.UUID, principal):
    """Send this case's private link again, to the contacts the exchange has on record."""
    request_case_link(get_session(), incident_id=incident_id, actor=principal.actor, now=now())
    return _link_sent()


@bp.get("/lost-link")
def lost_link_form():
    """Ask for a case link by account ID (for an owner who lost the link or closed the tab)."""
    return render_template("owner/lost_link.html", sent=False)


@bp.post("/lost-link")
@limiter.limit(lambda: current_app.config["CASE_LINK_RATE_LIMIT"])
def lost_link_submit():
    """Queue the link for the account's open case, if any; the answer never says whether there is one."""
    account_id = (request.form.get("account_id") or "").strip()
    if not account_id or len(account_id) > 64:
        return render_template("owner/lost_link.html", sent=False,
                               error=_("Enter your account ID: 1 to 64 letters, digits or _ . @ + -")), 422
    request_case_link(get_session(), account_id=account_id, actor="public", now=now())
    flash(_link_sent(), "success")
    return redirect(url_for("owner.lost_link_form"), 303)


@bp.post("/i/<uuid:incident_id>/take-back")
@owner_action(anchor="case-title")
def take_back_report(incident_id: uuid.UUID, principal):
    """Close the case as a false report, after the owner confirmed the consequences."""
    if request.form.get("confirm") != "yes":
        raise FormInput(_("Tick the box to confirm that you understand what taking the report back does."))
    close_as_false_report(get_session(), incident_id=incident_id, actor=principal.actor,
                          report_id=principal.report_id, now=now())
    return _("Your report was taken back and the case is closed. Your account stays frozen until you verify "
             "that it is yours.")


@bp.post("/i/<uuid:incident_id>/account/recheck")
@owner_action(anchor="unfreeze")
def recheck_account(incident_id: uuid.UUID, principal):
    """Ask the exchange again whether the password was reset and a new authenticator bound."""
    if not ownership.refresh_account_details(get_session(), incident_id=incident_id,
                                             exchange=runtime().ports.exchange, now=now()):
        raise FormInput(_("The exchange cannot be reached right now. Try again in a minute."))
    return _("We checked your account with the exchange again. The checklist below shows what it reports.")
