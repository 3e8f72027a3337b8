"""Who is calling: bearer tokens for staff (lds_) and reporters (ldi_), and the checks routes make."""
from __future__ import annotations

import re
import uuid

from flask import g, request

from kernel.errors import DomainError, Forbidden, NotFound
from app.extensions import get_session
from incidents.access import Principal, resolve_token

# API routes callable without a token: the owner's report, signed webhooks, one-time links, the document.
PUBLIC_API = re.compile(r"^/api/v1/(reports|anomalies(/batch)?|peer/freeze-requests(/[^/]+/status)?|repudiations(/.*)?|instance/public-key|openapi\.json|docs(/.*)?|_bench/.*)$")


def is_public(path: str) -> bool:
    """Whether an API path takes no bearer token."""
    return bool(PUBLIC_API.match(path))


def authenticate_api_request() -> None:
    """Check the bearer token of a private API route before its body is read: without one, only a 401."""
    if request.url_rule is not None and request.path.startswith("/api/v1/") and not is_public(request.path):
        current_principal()


class Unauthorized(DomainError):
    """No valid credentials."""

    status, slug, title = 401, "unauthorized", "Unauthorized"


def current_principal() -> Principal:
    """The caller behind the Authorization header; 401 when missing or unknown."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("a bearer token is required")
    principal = resolve_token(get_session(), token.strip())
    if principal is None:
        raise Unauthorized("the token is not valid")
    g.principal = principal
    return principal


def require_staff(*roles: str) -> Principal:
    """A staff caller with one of the roles (any staff role when none named); 403 otherwise."""
    principal = current_principal()
    if principal.kind != "staff":
        raise Forbidden("this needs a staff token")
    if roles and not principal.has_role(*roles):
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return principal


def require_incident_access(incident_id: uuid.UUID) -> Principal:
    """Staff, or the reporter whose token belongs to this incident (404 for any other, so ids do not leak)."""
    principal = current_principal()
    if principal.kind == "reporter" and principal.incident_id != incident_id:
        raise NotFound("no such incident")
    return principal
