"""Error pages: the pages answer in HTML, while the JSON API keeps its problem documents."""
from __future__ import annotations

import logging

from flask import Flask, Response, g, has_request_context, make_response, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.web import is_page_request
from app.web.console_auth import STAFF_KEY
from app.web.owner_access import SESSION_KEY as OWNER_ACCESS_KEY

log = logging.getLogger("lockdesk.web")

MESSAGES = {
    400: _l("The form could not be accepted. It may have been open too long: go back, reload the page "
            "and try again."),
    401: _l("Please sign in."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist, or your link is no longer valid. Open the access link you were "
            "given when you reported."),
    405: _l("This page cannot be used that way."),
    409: _l("This cannot be done in the case's current state."),
    413: _l("What you sent is too large."),
    422: _l("Some of what you entered could not be accepted."),
    429: _l("Too many attempts. Wait a minute, then try again."),
}
RETURNABLE = frozenset({400, 409, 413, 422, 429})  # the case page itself is fine: the form was refused
FALLBACK = _l("Something went wrong on our side. If it happens again, quote the reference below.")


def render_error_page(status: int, *, detail: str = "", headers: dict[str, str] | None = None) -> Response | None:
    """An HTML error page for a page request; None for the API, which answers problem+json."""
    if not has_request_context() or not is_page_request():
        return None
    try:
        body = render_template("error.html", status=status, message=_message(status, headers or {}),
                               request_id=g.get("request_id"), back_to_case=_case_page(status))
    except Exception:  # a broken template must not hide the original error behind a second one
        log.exception("the error page could not be rendered")
        body = f"<!doctype html><title>{status}</title><p>Error {status}.</p>"
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _message(status: int, headers: dict[str, str]) -> str:
    """What went wrong; a rate limit says when the next try is accepted (its Retry-After, in minutes)."""
    retry = headers.get("Retry-After", "")
    if status == 429 and retry.isdigit():
        minutes = max(1, -(-int(retry) // 60))
        return ngettext("Too many attempts. Try again in %(num)d minute.",
                        "Too many attempts. Try again in %(num)d minutes.", minutes)
    return str(MESSAGES.get(status, FALLBACK))


def _case_page(status: int) -> str | None:
    """The case page a refused form was posted from, so the error page leads back there: only for an asker the
    page opens for (signed-in staff on the console, an owner whose session holds the case), never for a case
    that is missing or closed to the asker, where that page would refuse again."""
    incident_id = (request.view_args or {}).get("incident_id")
    if status not in RETURNABLE or incident_id is None:
        return None
    if request.path.startswith("/console/"):
        return url_for("console.incident", incident_id=incident_id) if session.get(STAFF_KEY) else None
    if str(incident_id) not in (session.get(OWNER_ACCESS_KEY) or {}):
        return None
    return url_for("owner.case_page", incident_id=incident_id)


def init_app(app: Flask) -> None:
    """Offer the page renderer to the one error handler (app.errors)."""
    app.extensions["lockdesk_error_page"] = render_error_page
