"""What the pages call each state, in the owner's words and the staff's (translated lazily)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# The owner's words for the ticket, from the exchange-support articles (DESIGN §1).
TICKET_STATUS = {
    "open": _l("Accepted"),
    "in_progress": _l("In progress"),
    "awaiting_user": _l("Awaiting your reply"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}

CONTAINMENT = {
    "none": _l("Not frozen"),
    "freeze_pending": _l("Freezing"),
    "frozen": _l("Frozen"),
    "freeze_failed": _l("Freeze not confirmed yet"),
    "unfreeze_pending": _l("Unfreezing"),
    "unfrozen": _l("Unfrozen"),
}

CONTAINMENT_EXPLAINED = {
    "none": _l("Your account is not frozen."),
    "freeze_pending": _l("We have asked the exchange to freeze your account and are waiting for its "
                         "confirmation."),
    "frozen": _l("Your account is frozen: nobody can sign in, trade or withdraw until the review "
                 "is complete."),
    "freeze_failed": _l("The exchange has not confirmed the freeze yet. We keep retrying and our "
                        "staff have been alerted."),
    "unfreeze_pending": _l("The unfreeze was approved and is being carried out."),
    "unfrozen": _l("Your account is unfrozen. Withdrawals stay on hold for a while as a precaution."),
}

REPORT_KINDS = {
    "stolen_account": _l("Someone took over my account"),
    "unauthorized_withdrawal": _l("A withdrawal I did not make"),
    "suspicious_login": _l("A sign-in I do not recognise"),
    "phishing": _l("I entered my details on a fake site"),
    "other": _l("Something else"),
}

VERIFICATION_STATUS = {
    "pending": _l("Waiting for your codes"),
    "passed": _l("Identity verified"),
    "failed": _l("Not verified"),
    "expired": _l("Expired"),
    "manual_review": _l("Needs a manual identity review"),
}

# Where the first suspicious activity of a case is known from (incidents/suspicion.py).
SUSPICION_SOURCE = {
    "report": _l("the time given in a report"),
    "anomaly": _l("an alert of the exchange's risk engine"),
    "exchange_event": _l("a change of the account recorded by the exchange"),
    "withdrawal": _l("a withdrawal from the account"),
    "case_opened": _l("the first report or alert"),
}

FACTOR_KIND = {"totp": _l("Authenticator app code"), "sms": _l("Text message code")}

FACTOR_STATUS = {
    "pending": _l("Not yet entered"),
    "passed": _l("Accepted"),
    "failed": _l("Failed"),
    "locked": _l("Locked"),
}

TRACE_STATUS = {
    "queued": _l("Waiting to be traced"),
    "running": _l("Tracing"),
    "done": _l("Traced"),
    "failed": _l("Trace failed"),
}

TRANSACTION_STATUS = {"pending": _l("Pending"), "confirmed": _l("Confirmed"), "failed": _l("Failed")}

FINDING_CATEGORY = {
    "exchange": _l("Reached an exchange"),
    "mixer": _l("Entered a mixer"),
    "bridge": _l("Crossed a bridge to another chain"),
    "sanctioned": _l("Sanctioned address"),
    "phishing": _l("Known phishing address"),
    "hack": _l("Known hacker address"),
    "stablecoin": _l("Stablecoin still held: the issuer can freeze it"),
    "stopped": _l("The trace stopped widening here"),
}

CHECKLIST_ITEM = {
    "identity_verified": _l("Identity verified"),
    "password_reset": _l("Password reset"),
    "sessions_revoked": _l("Sessions signed out"),
    "api_keys_revoked": _l("API keys revoked"),
    "two_factor_rebound": _l("New two-factor authentication bound"),
    "transactions_reviewed": _l("Reported transactions traced and reviewed"),
    "no_new_anomalies": _l("No new suspicious activity since the freeze"),
}

UNFREEZE_STATUS = {
    "pending": _l("Under review"),
    "approved": _l("Approved"),
    "executing": _l("Being carried out"),
    "completed": _l("Carried out"),
    "rejected": _l("Rejected"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
}


def word(table: dict, key: str | None) -> str:
    """The translated word for a state, or the raw key when the table has none."""
    return str(table.get(key, key or ""))
