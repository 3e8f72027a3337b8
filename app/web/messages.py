"""Refusals from the domain, told to the owner in plain words of the page's language."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext

from app.db import utcnow
from app.web.refusals import refusal_text
from kernel.errors import DomainError
from verification.errors import TotpKeptForPhoneHolder

TOTP_STEP_SECONDS = 30


class FormInput(DomainError):
    """What the owner typed cannot be used; the detail is already in the page's language."""

    status, slug, title = 422, "form-input", "Check what you entered"


def seconds_to_next_step(at: datetime) -> int:
    """Seconds until an authenticator app shows its next code (codes change every 30 s, on the clock)."""
    return TOTP_STEP_SECONDS - int(at.timestamp()) % TOTP_STEP_SECONDS


def explain(error: DomainError, *, factor: str | None = None, at: datetime | None = None) -> str:
    """One sentence saying what went wrong, what to do next and when it becomes possible."""
    at = at or utcnow()
    if isinstance(error, FormInput):
        return error.detail
    extra = error.extra or {}
    retry = extra.get("retry_after")
    if isinstance(error, TotpKeptForPhoneHolder):
        return _("Too many wrong authenticator codes were entered for this account. Enter the text message code "
                 "first, then the authenticator code.")
    if error.slug == "wrong-code":
        return _("That code is not correct. Attempts left: %(count)d.", count=extra.get("remaining_attempts", 0))
    if error.slug == "code-already-used" and factor == "totp":
        return ngettext("That code has already been used. Your authenticator app shows a new code in about "
                        "%(num)d second: enter that one.",
                        "That code has already been used. Your authenticator app shows a new code in about "
                        "%(num)d seconds: enter that one.", seconds_to_next_step(at))
    if error.slug == "code-already-used":
        return _("That code has already been used. Ask for a new code by text message.")
    if error.slug == "code-expired":
        return _("That code, or this verification, has expired. Ask for a new code or start again.")
    if error.slug == "too-many-attempts" and retry:
        minutes = max(1, -(-int(retry) // 60))
        return ngettext("Too many wrong codes. You can enter a new code in %(num)d minute (at %(time)s).",
                        "Too many wrong codes. You can enter a new code in %(num)d minutes (at %(time)s).",
                        minutes, time=(at + timedelta(seconds=int(retry))).strftime("%H:%M UTC"))
    if error.slug == "too-many-attempts":
        return _("Too many wrong codes: this code is blocked. Start a new verification below to get a new code.")
    if error.slug == "rate-limited" and retry:
        return ngettext("A new code cannot be sent yet. Try again in %(num)d second.",
                        "A new code cannot be sent yet. Try again in %(num)d seconds.", int(retry))
    if error.slug == "account-details-pending":
        return _("The exchange cannot be reached right now, so we cannot read your account's details. Try "
                 "again in a minute (at %(time)s).", time=(at + timedelta(seconds=60)).strftime("%H:%M UTC"))
    if error.slug == "sms-delivery-failed":
        return _("The text message could not be sent. Try again in a minute.")
    if error.slug == "illegal-transition":
        return _("This step is no longer possible in the current state of your case.")
    return refusal_text(error)
