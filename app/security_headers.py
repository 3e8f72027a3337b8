"""Headers every answer carries: a Content-Security-Policy without inline script, no framing, HSTS in production.

The pages keep their JavaScript and styles in app/static (STYLE.md), so the policy allows only this
origin's files; `frame-ancestors 'none'` stops the report form and the console being framed
(clickjacking). Strict-Transport-Security is sent in production only: a developer's http://127.0.0.1
must not be pinned to HTTPS.
"""
from __future__ import annotations

from flask import Flask, Response

from app.production import is_production

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=63072000; includeSubDomains"


def headers_for(*, production: bool) -> dict[str, str]:
    """The headers to add to every answer."""
    return {**BASE_HEADERS, **({"Strict-Transport-Security": HSTS} if production else {})}


def init_app(app: Flask) -> None:
    """Add the headers to every answer (a route that sets one itself keeps its own)."""
    headers = headers_for(production=is_production(app.config))

    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    app.after_request(add_headers)
