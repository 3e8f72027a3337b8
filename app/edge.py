"""The edge every request passes before a route reads it: body size, text that cannot be stored, redirects.

- A body is at most MAX_BODY_BYTES whatever its transfer encoding (413); an API body is JSON (415).
- Text: no lone surrogates, NUL or other control characters in query arguments, form fields or JSON
  strings and keys (422 naming the field). Form fields and JSON strings may hold tabs and line breaks
  (a description has paragraphs); a query argument holds neither.
- A `next` to return to after a page is a path on this site, judged after the URL is parsed.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnprocessableEntity, UnsupportedMediaType
from werkzeug.urls import iri_to_uri

MAX_BODY_BYTES = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# PostgreSQL cannot store NUL in text or jsonb; lone surrogates cannot be encoded as UTF-8 at all.
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")
SURROGATE_MESSAGE = "must not contain unpaired surrogate code points"
CONTROL_MESSAGE = "must not contain NUL or other control characters"
LINE_MESSAGE = "must not contain control characters or line breaks"
MAX_REPORTED = 20


def text_fault(value: str, *, one_line: bool = False) -> str | None:
    """Why this text cannot be taken, or None when it can."""
    if _SURROGATE.search(value):
        return SURROGATE_MESSAGE
    if (_CONTROL_IN_LINE if one_line else _CONTROL_IN_TEXT).search(value):
        return LINE_MESSAGE if one_line else CONTROL_MESSAGE
    return None


def json_text_faults(value: Any, path: str = "") -> dict[str, list[str]]:
    """Every string (and key) of a parsed JSON value that cannot be taken, by its dotted path."""
    faults: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack and len(faults) < MAX_REPORTED:
        where, item = stack.pop()
        if isinstance(item, str):
            if (fault := text_fault(item)) is not None:
                faults[where or "body"] = [fault]
        elif isinstance(item, dict):
            for key, nested in item.items():
                inner = f"{where}.{key}" if where else str(key)
                if (fault := text_fault(key, one_line=True)) is not None:
                    faults[_printable(inner)] = [f"key {fault}"]
                    continue
                stack.append((inner, nested))
        elif isinstance(item, list):
            stack.extend((f"{where}.{index}" if where else str(index), nested) for index, nested in enumerate(item))
    return faults


def _printable(path: str) -> str:
    """A path that can itself be shown and stored: bad characters as escapes."""
    return path.encode("unicode_escape", errors="backslashreplace").decode("ascii")


def refuse(location: str, faults: dict[str, list[str]]) -> None:
    """Answer 422 naming each field (the one error handler turns the messages into `errors`)."""
    error = UnprocessableEntity()
    error.data = {"messages": {location: faults}}
    raise error


def check_request() -> None:
    """Before any route: the body's size and type, then the text of query arguments and form fields."""
    if request.routing_exception is not None:  # no such route or method: that answer (404, 405) comes first
        return
    if request.method in BODY_METHODS:
        _widen_for_view()
        _check_body()
    faults = {_printable(key): [f"name {fault}"] for key in request.args
              if (fault := text_fault(key, one_line=True)) is not None}
    faults.update({_printable(key): [fault] for key, value in request.args.items(multi=True)
                   if (fault := text_fault(value, one_line=True)) is not None})
    if faults:
        refuse("query", faults)
    if request.method in BODY_METHODS and request.mimetype in FORM_TYPES:
        faults = {_printable(key): [fault] for key, value in request.form.items(multi=True)
                  if (fault := text_fault(key, one_line=True) or text_fault(value)) is not None}
        if faults:
            refuse("form", faults)


def _check_body() -> None:
    """413 over the limit whatever the transfer encoding; 415 for an API body that is not JSON."""
    # A view marked with `max_body_bytes` widened the limit (an upload, the anomaly batch); any other has 64 KiB.
    limit = request.max_content_length or MAX_BODY_BYTES
    upload = _takes_file()
    length = request.content_length
    if (length or 0) > limit:
        raise RequestEntityTooLarge(f"the body is larger than {limit} bytes")
    streamed = length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if streamed:
        # Werkzeug stops reading a streamed body at the limit without saying so: read it here, and a
        # body that still has bytes past the limit is too large rather than cut short.
        data = request.get_data(cache=True)
        if len(data) >= limit and request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge(f"the body is larger than {limit} bytes")
    if request.path.startswith("/api/") and not upload and (length or streamed) and not request.is_json:
        raise UnsupportedMediaType("the body must be application/json")


def _widen_for_view() -> None:
    """The one way a view widens the body limit: `max_body_bytes`, a number (the anomaly batch) or a callable
    given the application's config (an upload, whose limit follows ATTACHMENT_MAX_BYTES)."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_body_bytes", None)
    if callable(limit):
        limit = limit(current_app.config)
    if limit:
        request.max_content_length = limit


def _takes_file() -> bool:
    """Whether the route takes a file (multipart, marked by app.conversation.accepts_upload) rather than JSON."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_upload", False))


def local_path(target: str | None, default: str) -> str:
    """`target` when, parsed as a URL, it is a path on this site; else `default`.

    Browsers drop tabs and line breaks inside a URL and read a backslash as a slash, so `/\\t/evil.example`
    would leave the site as `//evil.example`: such characters refuse the target outright.
    """
    if not target or text_fault(target, one_line=True) or "\\" in target or " " in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return default
    return iri_to_uri(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))


def init_app(app: Flask) -> None:
    """Check every request first."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.before_request(check_request)
