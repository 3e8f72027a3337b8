"""Refusals from the domain, told to the owner in plain words of the page's language."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from app.db import DomainError
from verification.errors import TotpKeptForPhoneHolder


class FormInput(DomainError):
    """What the owner typed cannot be used; the detail is already in the page's language."""

    status, slug, title = 422, "form-input", "Check what you entered"


def explain(error: DomainError) -> str:
    """One sentence saying what went wrong and what to do next."""
    if isinstance(error, FormInput):
        return error.detail
    extra = error.extra or {}
    retry = extra.get("retry_after")
    if isinstance(error, TotpKeptForPhoneHolder):
        return _("Too many wrong authenticator codes were entered for this account. Enter the text message code "
                 "first, then the authenticator code.")
    if error.slug == "wrong-code":
        return _("That code is not correct. Attempts left: %(count)d.", count=extra.get("remaining_attempts", 0))
    if error.slug == "code-already-used":
        return _("That code has already been used. Wait for the next code in your authenticator app.")
    if error.slug == "code-expired":
        return _("That code, or this verification, has expired. Ask for a new code or start again.")
    if error.slug == "too-many-attempts" and retry:
        return ngettext("Too many wrong codes. Try again in %(num)d minute.",
                        "Too many wrong codes. Try again in %(num)d minutes.", max(1, -(-int(retry) // 60)))
    if error.slug == "too-many-attempts":
        return _("Too many wrong codes. Start a new verification, or wait for our team to contact you.")
    if error.slug == "rate-limited" and retry:
        return ngettext("A new code cannot be sent yet. Try again in %(num)d second.",
                        "A new code cannot be sent yet. Try again in %(num)d seconds.", int(retry))
    if error.slug == "account-details-pending":
        return _("We are still receiving your account's details from the exchange. Try again in a minute.")
    if error.slug == "sms-delivery-failed":
        return _("The text message could not be sent. Try again in a minute.")
    if error.slug == "illegal-transition":
        return _("This step is no longer possible in the current state of your case.")
    return _("This cannot be done right now (%(detail)s).", detail=error.detail)
