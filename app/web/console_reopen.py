"""The console's door back into a closed case: staff reopen it, and an account never frozen is frozen again."""
from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext as _

from app.containment import dispatch_after_commit
from app.extensions import get_session
from app.web.console import WORKING_ROLES, bp, case_action
from app.web.messages import FormInput
from incidents.reopening import reopen_case


@bp.post("/incidents/<uuid:incident_id>/reopen")
@case_action(*WORKING_ROLES)
def reopen(principal, incident_id):
    """Reopen a closed case with a reason; a second click is told the case is open already."""
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        raise FormInput(_("Say why the case is reopened."))
    result = reopen_case(get_session(), incident_id=incident_id, reason=reason[:2000], actor=principal.actor,
                         sla_hours=current_app.config["SLA_HOURS"])
    dispatch_after_commit(result.incident, result.freeze_command)
    get_session().refresh(result.incident)  # the exchange's answer, written in the dispatcher's own transaction
    if result.incident.status == "closed":
        raise FormInput(_("The case was reopened, but the exchange still has no account %(account)s, so it closed "
                          "again. The owner's case page tells them to check the ID and report again with the right "
                          "one; reopen this case once the exchange has the account.",
                          account=result.incident.account_id))
    if result.freeze_command is not None:
        return _("Case reopened. The exchange was asked to freeze the account again; the state above shows "
                 "its answer.")
    return _("Case reopened.")
