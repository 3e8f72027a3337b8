"""Error pages: the pages answer in HTML, while the JSON API keeps its problem documents."""
from __future__ import annotations

import logging

from flask import Flask, Response, g, has_request_context, make_response, render_template
from flask_babel import lazy_gettext as _l

from app.web import is_page_request

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
FALLBACK = _l("Something went wrong on our side. If it happens again, quote the reference below.")


def render_error_page(status: int, *, detail: str = "", headers: dict[str, str] | None = None) -> Response | None:
    """An HTML error page for a page request; None for the API, which answers problem+json."""
    if not has_request_context() or not is_page_request():
        return None
    try:
        body = render_template("error.html", status=status, message=MESSAGES.get(status, FALLBACK),
                               request_id=g.get("request_id"))
    except Exception:  # a broken template must not hide the original error behind a second one
        log.exception("the error page could not be rendered")
        body = f"<!doctype html><title>{status}</title><p>Error {status}.</p>"
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Offer the page renderer to the one error handler (app.errors)."""
    app.extensions["lockdesk_error_page"] = render_error_page
