"""The owner's way in: the ldi_ access link is exchanged once for a signed, HttpOnly session cookie."""
from __future__ import annotations

import uuid

from flask import session

from kernel.errors import NotFound
from app.extensions import get_session
from incidents.access import Principal, resolve_token
from incidents.models import AccessToken

SESSION_KEY = "owner_access"


def grant_from_token(incident_id: uuid.UUID, token: str) -> Principal:
    """Check an access token for this incident and remember it in the session (404 for any other)."""
    principal = resolve_token(get_session(), token.strip())
    if principal is None or principal.kind != "reporter" or principal.incident_id != incident_id:
        raise NotFound("no such incident")
    remember(principal)
    return principal


def remember(principal: Principal) -> None:
    """Keep the reporter's access in the session cookie (the token itself never goes there)."""
    granted = dict(session.get(SESSION_KEY) or {})
    granted[str(principal.incident_id)] = str(principal.id)
    session[SESSION_KEY] = granted


def owner_principal(incident_id: uuid.UUID) -> Principal:
    """The reporter this session holds access for on this incident; 404 when it holds none."""
    token_id = (session.get(SESSION_KEY) or {}).get(str(incident_id))
    row = get_session().get(AccessToken, uuid.UUID(token_id)) if token_id else None
    if row is None or row.revoked_at is not None or row.incident_id != incident_id:
        raise NotFound("no such incident")
    return Principal(kind="reporter", id=row.id, incident_id=row.incident_id, report_id=row.report_id)
