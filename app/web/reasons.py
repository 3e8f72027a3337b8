"""The domain's reasons (incidents/reasons.py) in the reader's language; a person's own words after them stay as
written, and a reason the domain did not give (a staff member's own) is shown as it is."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from incidents import reasons

SAID = {
    reasons.QUESTION_ASKED: _l("a question to the owner"),
    reasons.OWNER_REPLIED: _l("the owner replied"),
    reasons.OWNER_ASKED_UNFREEZE: _l("the owner asked for the unfreeze"),
    reasons.OWNER_STARTED_VERIFICATION: _l("the owner started a verification"),
    reasons.CHECKLIST_WORKED: _l("staff worked the unfreeze checklist"),
    reasons.OFFICER_DECIDED: _l("a risk officer decided the unfreeze"),
    reasons.TAKEN_BACK: _l("the owner took the report back"),
    reasons.DISOWNED: _l("the owner disowned a notice through its one-time link"),
    reasons.ENDED_BY_STAFF.format(status="resolved"): _l("the case was resolved by staff"),
    reasons.ENDED_BY_STAFF.format(status="closed"): _l("the case was closed by staff"),
    reasons.REOPENED_BY_STAFF: _l("the case was reopened by staff"),
    reasons.PEER_HOLD_RELEASED: _l("peer hold released"),
}


def reason(text: str | None) -> str:
    """A reason in the page's language: ours translated, a person's own words after ours as written."""
    if not text:
        return ""
    if text in SAID:
        return str(SAID[text])
    ours, colon, theirs = text.partition(": ")
    if colon and ours in SAID:
        return str(_l("%(said)s: %(reason)s", said=SAID[ours], reason=theirs))
    return text
