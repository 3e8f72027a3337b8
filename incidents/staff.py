"""Staff accounts: creation with a one-time token, passwords for the console."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import Conflict, InvalidInput, NotFound, utcnow
from incidents import audit
from incidents.access import ROLES, STAFF_PREFIX, hash_token, new_token
from incidents.models import Staff
from verification import service as verification

MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class NewStaff:
    """A created staff member, with the token and TOTP enrolment shown once."""

    staff: Staff
    token: str
    totp_secret: str
    otpauth_uri: str


def create_staff(session: Session, *, name: str, role: str, actor: str = "system",
                 now: datetime | None = None) -> NewStaff:
    """Create a staff member with a fresh bearer token and their own TOTP authenticator."""
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if session.scalar(select(Staff.id).where(Staff.name == name)):
        raise Conflict(f"a staff member named {name!r} exists")
    token = new_token(STAFF_PREFIX)
    staff = Staff(name=name, role=role, token_hash=hash_token(token), created_at=now or utcnow())
    session.add(staff)
    session.flush()
    audit.record(session, actor=actor, action="staff.created", subject_type="staff",
                 subject_id=staff.id, data={"name": name, "role": role}, now=now)
    session.commit()
    enrolment = verification.enrol_staff_totp(session, staff_id=staff.id, label=name, audit=audit.record,
                                              now=now)
    return NewStaff(staff=staff, token=token, totp_secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


def set_password(session: Session, *, name: str, password: str, actor: str = "system") -> Staff:
    """Set the console password of a staff member."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    staff = find_staff(session, name=name)
    staff.password_hash = generate_password_hash(password)
    audit.record(session, actor=actor, action="staff.password_set", subject_type="staff",
                 subject_id=staff.id)
    session.commit()
    return staff


def find_staff(session: Session, *, name: str) -> Staff:
    """Load a staff member by name."""
    staff = session.scalar(select(Staff).where(Staff.name == name))
    if staff is None:
        raise NotFound(f"no staff member named {name!r}")
    return staff


def check_password(staff: Staff, password: str) -> bool:
    """Whether the password matches (constant time inside werkzeug)."""
    return bool(staff.password_hash) and check_password_hash(staff.password_hash, password)
