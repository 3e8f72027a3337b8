"""The page behind a "this wasn't me" link: GET only shows a confirmation (link scanners open links), POST acts."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from app.containment import file_repudiation
from kernel.errors import DomainError
from app.extensions import get_session
from incidents import repudiation
from incidents.notifications import resolve_language

bp = Blueprint("repudiation", __name__, template_folder="templates")


def _language() -> str:
    """English or Simplified Chinese, from Accept-Language."""
    return resolve_language(request.accept_languages.best_match(["en", "zh-CN", "zh"]) or "en")


@bp.route("/repudiations/<string:token>", methods=["GET"])
def confirm(token: str):
    """Show what confirming would do; nothing changes."""
    try:
        link = repudiation.inspect_link(get_session(), token=token, key=current_app.config["SECRET_KEY"])
    except DomainError:
        return _page("invalid", 404)
    return _page(link.state, 200 if link.state == "valid" else 410, reference=link.reference, token=token)


@bp.route("/repudiations/<string:token>", methods=["POST"])
def act(token: str):
    """Freeze the account again and file the owner's report, once."""
    try:
        result = file_repudiation(token, client_address=request.remote_addr)
    except repudiation.LinkUsed:
        return _page("used", 410)
    except repudiation.LinkExpired:
        return _page("expired", 410)
    except DomainError:
        return _page("invalid", 404)
    return _page("done", 200, reference=result.intake.incident.reference)


def _page(state: str, status: int, **context):
    """Render the page in the visitor's language; never cached, never indexed."""
    body = render_template("repudiation/page.html", state=state, language=_language(), **context)
    return body, status, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
