"""One place that turns errors into RFC 9457 problem documents (application/problem+json)."""
from __future__ import annotations

import logging
import math
from typing import Any

from flask import Flask, Response, current_app, g, json, request
from werkzeug.exceptions import HTTPException

from kernel.errors import DomainError

PROBLEM_TYPE = "application/problem+json"
# Fields from these locations are named plainly ("limit", "contact.email"); headers keep their prefix.
BODY_LOCATIONS = frozenset({"json", "form", "query", "view_args", "path"})
log = logging.getLogger("lockdesk.errors")

SLUG_BY_STATUS = {
    400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
    405: "method-not-allowed", 409: "conflict", 410: "gone", 413: "payload-too-large",
    415: "unsupported-media-type", 422: "validation", 429: "rate-limited",
    500: "internal", 502: "bad-gateway", 503: "unavailable",
}


def problem(status: int, *, slug: str | None = None, title: str | None = None, detail: str = "",
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """Build a problem+json response."""
    from werkzeug.http import HTTP_STATUS_CODES

    page = current_app.extensions.get("lockdesk_error_page")
    answer = page(status, detail=detail, headers=headers) if page else None
    if answer is not None:  # a web page asked: the pages render HTML, the API keeps problem+json
        return answer
    body = {"type": f"/problems/{slug or SLUG_BY_STATUS.get(status, 'error')}",
            "title": title or HTTP_STATUS_CODES.get(status, "Error"), "status": status,
            "detail": detail, "instance": g.get("request_id")}
    body.update({key: value for key, value in extra.items() if value is not None})
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn nested marshmallow messages into {"contact.email": ["…"], "transactions.0.hash": […]}."""
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or "body": messages}
    flat: dict[str, list[str]] = {}
    items = messages.items() if isinstance(messages, dict) else enumerate(messages)
    for key, value in items:
        name = str(key) if key != "_schema" else ""
        path = ".".join(part for part in (prefix, name) if part)
        flat.update(flatten_messages(value, path))
    return flat


def handle_domain_error(error: DomainError) -> Response:
    """A domain refusal, with its status and slug."""
    extra = dict(error.extra)
    headers = {}
    if extra.get("retry_after") is not None:  # a burned code has no time after which it works again
        headers["Retry-After"] = str(max(1, math.ceil(float(extra["retry_after"]))))
    return problem(error.status, slug=error.slug, title=error.title, detail=error.detail,
                   headers=headers, **extra)


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug and webargs errors: validation messages become per-field `errors`."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    headers = dict(data.get("headers") or {})
    if status == 429:
        headers.setdefault("Retry-After", str(_retry_after(error)))
    if status == 405 and getattr(error, "valid_methods", None):
        headers.setdefault("Allow", ", ".join(error.valid_methods))  # RFC 9110 §15.5.6
    if messages:
        errors: dict[str, list[str]] = {}
        for location, nested in messages.items():
            errors.update(flatten_messages(nested, "" if location in BODY_LOCATIONS else location))
        detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        slug = "validation" if status == 422 else "malformed-body"
        return problem(status, slug=slug, title="Validation failed" if status == 422 else "Malformed body",
                       detail=detail, errors=errors, headers=headers)
    return problem(status, detail=error.description or "", headers=headers)


def _retry_after(error: HTTPException) -> int:
    """Seconds until a rate limit resets."""
    limit = getattr(error, "limit", None)
    try:
        return max(1, int(limit.limit.get_expiry())) if limit else 60
    except (AttributeError, TypeError):
        return 60


def handle_unexpected(error: Exception) -> Response:
    """Anything else: logged with the request id, answered without internals."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, slug="internal", detail="An internal error occurred; quote the instance id.")


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
