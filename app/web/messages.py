"""Refusals from the domain, told to the owner in plain words of the page's language."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _

from app.db import utcnow
from app.web.refusals import refusal_text
from kernel.errors import DomainError


class FormInput(DomainError):
    """What the owner typed cannot be used; the detail is already in the page's language."""

    status, slug, title = 422, "form-input", "Check what you entered"


def explain(error: DomainError, *, factor: str | None = None, at: datetime | None = None) -> str:
    """One sentence saying what went wrong, what to do next and when it becomes possible: the owner's pages' own
    words for an expired code, an unreachable exchange, an unsent text message and a finished verification; every
    other refusal as `refusal_text` tells it (the console's pages use the same words)."""
    at = at or utcnow()
    if isinstance(error, FormInput):
        return error.detail
    if error.slug == "code-expired":
        return _("That code, or this verification, has expired. Ask for a new code or start again.")
    if error.slug == "account-details-pending":
        return _("The exchange cannot be reached right now, so we cannot read your account's details. Try "
                 "again in a minute (at %(time)s).", time=(at + timedelta(seconds=60)).strftime("%H:%M UTC"))
    if error.slug == "sms-delivery-failed":
        return _("The text message could not be sent. Try again in a minute.")
    if error.slug == "illegal-transition":
        return _("This step is no longer possible in the current state of your case.")
    return refusal_text(error, factor=factor, at=at)  # wrong and used codes, locks and waits, and the rest
