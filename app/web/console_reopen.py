"""The console's door back into a closed case: staff reopen it, and an account never frozen is frozen again."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _

from app import containment
from app.web.console import WORKING_ROLES, bp, case_action
from app.web.messages import FormInput


@bp.post("/incidents/<uuid:incident_id>/reopen")
@case_action(*WORKING_ROLES)
def reopen(principal, incident_id):
    """Reopen a closed case with a reason; a second click is told the case is open already, a blank or over-long
    reason is refused like the API refuses it (in the page's language)."""
    result = containment.reopen(incident_id, reason=request.form.get("reason") or "", actor=principal.actor)
    if result.incident.status == "closed":
        raise FormInput(_("The case was reopened, but the exchange still has no account %(account)s, so it closed "
                          "again. The owner's case page tells them to check the ID and report again with the right "
                          "one; reopen this case once the exchange has the account.",
                          account=result.incident.account_id))
    if result.freeze_command is not None:
        return _("Case reopened. The exchange was asked to freeze the account again; the state above shows "
                 "its answer.")
    return _("Case reopened.")
