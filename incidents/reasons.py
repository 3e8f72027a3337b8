"""The reasons the domain gives, in English, for the moves it makes on its own or on someone's behalf.

The audit chain and the API keep them as written; the pages say them in the reader's language
(app/web/reasons.py). A reason made of one of these and a person's own words is written `<ours>: <theirs>`.
"""
from __future__ import annotations

QUESTION_ASKED = "a question to the owner"
OWNER_REPLIED = "the owner replied"
OWNER_ASKED_UNFREEZE = "the owner asked for the unfreeze"
OWNER_STARTED_VERIFICATION = "the owner started a verification"
CHECKLIST_WORKED = "staff worked the unfreeze checklist"
OFFICER_DECIDED = "a risk officer decided the unfreeze"
# Why an open unfreeze request was cancelled.
TAKEN_BACK = "the owner took the report back"
DISOWNED = "the owner disowned a notice through its one-time link"
ENDED_BY_STAFF = "the case was {status} by staff"
# Followed by the staff member's own reason.
REOPENED_BY_STAFF = "the case was reopened by staff"
PEER_HOLD_RELEASED = "peer hold released"


def with_own_words(ours: str, theirs: str | None) -> str:
    """One of these reasons followed by a person's own words, if any."""
    return f"{ours}: {theirs}" if theirs else ours
