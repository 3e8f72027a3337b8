"""What the pages call each state, in the owner's words and the staff's (translated lazily)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incidents.checklist import EVIDENCE_NOTE_REQUIRED

# The owner's words for the ticket, from the exchange-support articles (DESIGN §1).
TICKET_STATUS = {
    "open": _l("Accepted"),
    "in_progress": _l("In progress"),
    "awaiting_user": _l("Awaiting your reply"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}

# The staff's words for the same statuses (the owner's read "awaiting your reply").
STAFF_STATUS = {
    "open": _l("New"),
    "in_progress": _l("In progress"),
    "awaiting_user": _l("Awaiting the owner"),
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
    "passed": _l("Passed"),
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

# Checklist items staff may tick by hand only with the evidence they checked (the exchange's events settle them).
EVIDENCE_NOTE_ITEMS = EVIDENCE_NOTE_REQUIRED

# What the owner does (or need not do) for each checklist item that is still open.
CHECKLIST_OWNER_STEP = {
    "identity_verified": _l("Enter the two codes in step 1 above."),
    "password_reset": _l("Set a new password at the exchange: on its sign-in page choose “Forgot password” "
                         "and follow the steps (this works while the account is frozen). Use a password you "
                         "have never used anywhere else. We tick this item as soon as the exchange reports it."),
    "sessions_revoked": _l("Nothing to do: we ask the exchange to sign every device out when it freezes the "
                           "account."),
    "api_keys_revoked": _l("Nothing to do: we ask the exchange to revoke every API key when it freezes the "
                           "account."),
    "two_factor_rebound": _l("Bind a new authenticator at the exchange: after the new password, open Security "
                             "→ Two-factor authentication, remove the old one and scan the new QR code. We tick "
                             "this item as soon as the exchange reports it."),
    "transactions_reviewed": _l("Nothing to do: our team traces the withdrawals."),
    "no_new_anomalies": _l("Nothing to do: we watch the account for new suspicious activity."),
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


# The console's words for the case's enums (every value a person reads comes from the catalogue).
SEVERITY = {"critical": _l("Critical"), "high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}

INCIDENT_KIND = {**REPORT_KINDS, "anomaly": _l("Suspicious activity seen by the risk engine")}

SOURCE = {"report": _l("Owner's report"), "anomaly": _l("Risk engine"), "repudiation": _l("\"This wasn't me\" link")}

QUEUE = {"support": _l("Support"), "risk": _l("Risk")}

OUTCOME = {
    "account_unknown": _l("The exchange has no such account (mistyped ID?)"),
    "false_report": _l("The owner took the report back (false report)"),
    "unfrozen": _l("The account was unfrozen"),
}

WITHDRAWAL_STATUS = {"pending": _l("Pending"), "completed": _l("Completed"), "cancelled": _l("Cancelled"),
                     "failed": _l("Failed"), "confirmed": _l("Confirmed")}

ANOMALY_TYPE = {
    "new_device_login": _l("Sign-in from a new device"), "geo_velocity": _l("Impossible travel between sign-ins"),
    "withdrawal_spike": _l("Unusual withdrawals"), "two_factor_disabled": _l("Two-factor authentication turned off"),
    "two_factor_changed": _l("Two-factor authentication changed"), "password_reset": _l("Password reset"),
    "api_key_created": _l("API key created"), "withdrawal_address_added": _l("Withdrawal address added"),
    "phone_changed": _l("Phone number changed"), "sim_swap": _l("SIM swap"),
}

ANOMALY_ACTION = {"ignored": _l("Below the threshold"), "watch": _l("Watched"), "attached": _l("Added to the case"),
                  "frozen": _l("Account frozen")}

EXCHANGE_STATE = {"active": _l("Active"), "frozen": _l("Frozen")}

SECURITY_EVENT = {**ANOMALY_TYPE, "totp_bound": _l("Authenticator bound"), "phone_bound": _l("Phone bound"),
                  "totp_changed": _l("Authenticator changed"), "totp_reset": _l("Authenticator reset"),
                  "password_changed": _l("Password changed"), "account_frozen": _l("Account frozen"),
                  "account_unfrozen": _l("Account unfrozen")}

ROLE = {"agent": _l("Agent"), "risk_officer": _l("Risk officer"), "admin": _l("Administrator")}

REVIEW_DECISION = {"approve": _l("Identity confirmed"), "reject": _l("Not confirmed")}

TRUST_REASON = {
    "not_registered": _l("Not registered at the exchange"), "bound_at_unknown": _l("Binding time unknown"),
    "bound_after_suspicious_event": _l("Bound after the first suspicious activity"),
    "bound_within_trust_window": _l("Bound shortly before the first suspicious activity"),
    "two_factor_changed": _l("Two-factor authentication changed recently"),
    "phone_changed": _l("Phone number changed recently"), "sim_swap": _l("SIM swap recently"),
    None: "",
}

EVENT_NAME = {
    "report.received": _l("Report received"), "report.taken_back": _l("The owner took the report back"),
    "incident.opened": _l("Case opened"), "incident.sla_breached": _l("SLA deadline passed"),
    "incident.account_described": _l("Account details read from the exchange"),
    "incident.withdrawals.pulled": _l("Withdrawals pulled from the exchange"),
    "incident.case_link_requested": _l("Case link sent again to the registered contacts"),
    "incident.reopened": _l("Case reopened by staff"),
    "incident.status.in_progress": _l("Status: in progress"),
    "incident.status.awaiting_user": _l("Status: awaiting the owner"),
    "incident.status.resolved": _l("Status: resolved"), "incident.status.closed": _l("Status: closed"),
    "incident.containment.freeze_pending": _l("Freeze requested"), "incident.containment.frozen": _l("Account frozen"),
    "incident.containment.freeze_failed": _l("Freeze refused by the exchange"),
    "incident.containment.unfreeze_pending": _l("Unfreeze sent to the exchange"),
    "incident.containment.unfrozen": _l("Account unfrozen"),
    "anomaly.received": _l("Risk-engine event received"),
    "exchange.command.queued": _l("Exchange command queued"), "exchange.command.done": _l("Exchange command done"),
    "exchange.command.failed": _l("Exchange command refused"),
    "exchange.command.retry_scheduled": _l("Exchange command to be retried"),
    "verification.started": _l("Verification started"), "verification.passed": _l("Verification passed"),
    "verification.failed": _l("Verification failed"), "verification.expired": _l("Verification expired unfinished"),
    "verification.totp_checked": _l("Authenticator code checked"),
    "verification.sms_code_issued": _l("Text-message code sent"),
    "verification.sms_code_checked": _l("Text-message code checked"),
    "verification.sms_code_burned": _l("Text-message code blocked after wrong tries"),
    "verification.sms_delivery_failed": _l("Text message could not be delivered"),
    "verification.code_reused": _l("A used code was entered again"),
    "verification.factor_locked": _l("Authenticator locked after wrong codes"),
    "verification.factor_disabled": _l("Authenticator disabled after too many wrong codes"),
    "verification.factor_reenabled": _l("Authenticator enabled again"),
    "verification.factor_kept_for_proven_holder": _l("Authenticator kept for the holder of the phone"),
    "incident.owner_reminded": _l("Owner reminded of an open question"),
    "unfreeze.requested": _l("Unfreeze requested"), "unfreeze.checklist.attested": _l("Checklist item attested"),
    "unfreeze.decision.recorded": _l("Decision recorded"), "unfreeze.approved": _l("Unfreeze approved"),
    "unfreeze.rejected": _l("Unfreeze rejected"), "unfreeze.executing": _l("Unfreeze being carried out"),
    "unfreeze.completed": _l("Unfreeze carried out"), "unfreeze.failed": _l("Unfreeze failed"),
    "unfreeze.cancelled": _l("Unfreeze request cancelled"), "notice.repudiated": _l("\"This wasn't me\" link used"),
    "message.owner_posted": _l("Message received"), "message.staff_asked": _l("Staff asked a question"),
    "message.staff_replied": _l("Staff answered the owner"), "message.note_added": _l("Internal note added"),
    "attachment.uploaded": _l("File attached"), "attachment.read": _l("File opened"),
    "attachment.purged": _l("File deleted after the retention period"),
    "evidence.bundle_written": _l("Evidence bundle downloaded"), "notification.failed": _l("A message could not be sent"),
    "peer.hold.requested": _l("Another exchange asked to hold the account"),
    "peer.hold.released": _l("Hold for another exchange released"),
    **{f"peer.freeze_request.{status}": _l("Freeze request to or from another exchange: %(status)s", status=word)
       for status, word in (("queued", _l("queued")), ("sent", _l("sent")), ("acknowledged", _l("acknowledged")),
                            ("held", _l("held")), ("declined", _l("declined")), ("failed", _l("failed")),
                            ("received", _l("received")), ("released", _l("released")))},
    "staff.created": _l("Staff member created"), "staff.password_set": _l("Staff password set"),
    "staff.sessions_ended": _l("Staff sessions ended"), "staff.sign_in_refused": _l("Staff sign-in refused"),
    "staff.signed_in": _l("Staff member signed in"), "staff.totp_enrolled": _l("Staff authenticator enrolled"),
}

ACTOR = {
    "exchange": _l("the exchange"), "exchange-dispatcher": _l("the exchange outbox"), "system": _l("the system"),
    "unfreeze-review": _l("the unfreeze review"), "risk-engine": _l("the risk engine"),
    "sla-clock": _l("the SLA clock"), "public": _l("someone on the public site"),
    "anonymous": _l("someone on the public site"), "cli": _l("the command line"),
    "demo": _l("the demo set-up"), "sms": _l("the text-message factor"), "totp": _l("the authenticator factor"),
}

PEER_STATUS = {
    "queued": _l("Queued"),
    "sent": _l("Sent"),
    "acknowledged": _l("Acknowledged"),
    "held": _l("Held"),
    "declined": _l("Declined"),
    "failed": _l("Failed"),
    "released": _l("Released"),
    "holding": _l("Holding"),
}


REPORTER_REACH = {
    (True, True): _l("told by email and text message"),
    (True, False): _l("told by email"),
    (False, True): _l("told by text message"),
    (False, False): _l("not told: the report gave no contact"),
}


def reporter_reach(contact: dict | None) -> str:
    """How a question in a reporter's thread reaches the reporter: on the contact the report gave, if any."""
    return str(REPORTER_REACH[bool((contact or {}).get("email")), bool((contact or {}).get("phone"))])
