"""Server-rendered pages: the owner's report and case pages, the staff console (English and Chinese)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from app.db import utcnow

babel = Babel()
csrf = CSRFProtect()

PACKAGE = Path(__file__).resolve().parent.parent
# The language a page is shown in; `zh_CN` is the catalogue of Simplified Chinese.
LOCALES = ("en", "zh_CN")
LANGUAGE_COOKIE = "lockdesk_lang"
PAGE_BLUEPRINTS = frozenset({"owner", "console"})


class TlsAwareSessionInterface(SecureCookieSessionInterface):
    """The signed session cookie, marked Secure whenever the page was served over TLS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured, or when this request came over HTTPS."""
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def now() -> datetime:
    """The pages' clock: injectable through the LOCKDESK_CLOCK setting (a callable), else the server's."""
    clock = current_app.config.get("LOCKDESK_CLOCK")
    return clock() if clock else utcnow()


def page_locale() -> str:
    """The page's language as one of LOCALES (Babel itself says zh_Hans_CN)."""
    from flask_babel import get_locale

    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def select_locale() -> str:
    """The language cookie set by the switch, else the best of Accept-Language, else English."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LOCALES:
        return chosen
    for language, _quality in request.accept_languages:
        tag = language.lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def is_page_request() -> bool:
    """Whether the current request belongs to the pages (errors render as HTML there).

    Outside the JSON API a browser, which asks for text/html before JSON, gets an HTML page for an unknown
    address too; the API always answers problem+json.
    """
    if request.blueprint in PAGE_BLUEPRINTS:
        return True
    path = request.path
    if request.blueprint is not None or path.startswith("/api/"):
        return False
    if path == "/" or path.startswith(("/console", "/i/", "/report")):
        return True
    accept = request.accept_mimetypes
    return accept.quality("text/html") > max(accept.quality("application/json"),
                                             accept.quality("application/problem+json"))


def protect_pages(blueprint) -> None:
    """CSRF on every form of the blueprint; its pages hold personal or case data: never cached. (Framing,
    referrers and sniffing are refused for every answer by app/security_headers.py.)"""
    blueprint.before_request(csrf.protect)

    @blueprint.after_request
    def _no_store(response):
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def init_app(app: Flask) -> None:
    """Attach translations, CSRF protection, the cookie rules and the page blueprints."""
    from app.web import (  # noqa: F401 (their routes)
        chain_words, console, conversation, errors, handoff, owner, owner_help, templating)

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PACKAGE / "translations"))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    # The JSON API authenticates by bearer token; the page blueprints switch the check on themselves.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # The token lives as long as the session; the staff session has its own, shorter clock.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Flask ships these keys unset; the pages' cookies are never sent by cross-site requests.
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("CONSOLE_SIGN_IN_RATE_LIMIT", "10 per minute;100 per hour")
    app.session_interface = TlsAwareSessionInterface()
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    templating.init_app(app)
    chain_words.init_app(app)
    handoff.init_app(app)
    errors.init_app(app)
    app.register_blueprint(owner.bp)
    app.register_blueprint(console.bp)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)


def _favicon():
    """The site's icon where browsers look for it on their own."""
    from flask import send_from_directory

    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)
