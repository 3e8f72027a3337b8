"""Bearer tokens: prefixed so a leaked one is recognisable, 256 random bits, stored as SHA-256."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents.models import AccessToken, Staff

STAFF_PREFIX = "lds_"
INCIDENT_PREFIX = "ldi_"
ROLES = ("agent", "risk_officer", "admin")

# A reporter in the audit chain and on its verifications: `reporter:<access token id>`.
REPORTER = "reporter:"


def reporter_actor(token_id: uuid.UUID) -> str:
    """How the audit chain names the holder of an access token (a reporter, or the registered contact's link)."""
    return f"{REPORTER}{token_id}"


def reporter_token_id(actor: str | None) -> uuid.UUID | None:
    """The access token behind a reporter's actor name (None for any other actor)."""
    if not actor or not actor.startswith(REPORTER):
        return None
    try:
        return uuid.UUID(actor[len(REPORTER):])
    except ValueError:
        return None


def new_token(prefix: str) -> str:
    """A fresh token: the kind prefix and 32 random bytes."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token (high-entropy secrets need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff member, or a reporter holding one incident's token."""

    kind: str
    id: uuid.UUID
    role: str | None = None
    name: str | None = None
    incident_id: uuid.UUID | None = None
    report_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        """How the audit chain names this caller."""
        return f"staff:{self.id}" if self.kind == "staff" else reporter_actor(self.id)

    def has_role(self, *roles: str) -> bool:
        """Whether this is a staff member with one of the roles (admins have all)."""
        return self.kind == "staff" and (self.role in roles or self.role == "admin")


def issue_incident_token(session: Session, *, incident_id: uuid.UUID, report_id: uuid.UUID | None,
                         now: datetime | None = None) -> str:
    """Create a reporter's access token for one incident; the caller commits and shows it once."""
    token, row = incident_token(incident_id=incident_id, report_id=report_id, now=now or utcnow())
    write_incident_tokens(session, [row])
    return token


def incident_token(*, incident_id: uuid.UUID, report_id: uuid.UUID | None,
                   now: datetime) -> tuple[str, dict[str, Any]]:
    """A fresh reporter's token for one incident and the row that stores it (not written yet: a batch of messages
    writes its tokens with `write_incident_tokens`)."""
    token = new_token(INCIDENT_PREFIX)
    return token, {"id": uuid.uuid4(), "token_hash": hash_token(token), "incident_id": incident_id,
                   "report_id": report_id, "created_at": now}


def write_incident_tokens(session: Session, rows: list[dict[str, Any]]) -> None:
    """Store the rows of `incident_token` in the caller's transaction, with one statement."""
    if rows:
        session.execute(_INSERT_TOKEN, rows)


_INSERT_TOKEN = insert(AccessToken.__table__)


def resolve_token(session: Session, token: str) -> Principal | None:
    """Find who holds a bearer token, or None for an unknown, revoked or malformed one."""
    if token.startswith(STAFF_PREFIX):
        staff = session.scalar(select(Staff).where(Staff.token_hash == hash_token(token)))
        if staff is None or not staff.is_active:
            return None
        return Principal(kind="staff", id=staff.id, role=staff.role, name=staff.name)
    if token.startswith(INCIDENT_PREFIX):
        row = session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(token)))
        if row is None or row.revoked_at is not None:
            return None
        return Principal(kind="reporter", id=row.id, incident_id=row.incident_id, report_id=row.report_id)
    return None
