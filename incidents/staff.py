"""Staff accounts: creation with a one-time token, passwords for the console."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.db import utcnow
from kernel.errors import Conflict, DomainError, InvalidInput, NotFound
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


class SignInRefused(DomainError):
    """Name, password or code wrong; which one is not said."""

    status, slug, title = 401, "sign-in-refused", "Sign-in refused"


def sign_in_staff(session: Session, *, name: str, password: str, code: str,
                  now: datetime | None = None) -> Staff:
    """Check the password, then the staff member's own TOTP; every attempt is audited (without secrets).

    Wrong passwords and wrong codes count together toward the authenticator's lock; while it is locked
    every attempt gets the same answer, so the answer never tells a right password from a wrong one.
    """
    now = now or utcnow()
    staff = session.scalar(select(Staff).where(Staff.name == name))
    known = staff is not None and staff.is_active
    paused = verification.staff_sign_in_pause(session, staff_id=staff.id, now=now) if known else None
    password_ok = check_password(staff, password) if known else _spend_equal_time(password)
    if paused is None and not password_ok and known:
        paused = verification.count_staff_password_failure(session, staff_id=staff.id, now=now)
    if paused is not None or not password_ok:
        audit.record(session, actor="anonymous", action="staff.sign_in_refused", subject_type="staff",
                     subject_id=staff.id if staff else "unknown",
                     data={"name": name[:80], "reason": "paused" if paused else "password"}, now=now)
        session.commit()
        raise paused or SignInRefused("the name, password or code is not correct")
    verification.check_staff_totp(session, staff_id=staff.id, code=code, audit=audit.record, now=now)
    audit.record(session, actor=f"staff:{staff.id}", action="staff.signed_in", subject_type="staff",
                 subject_id=staff.id, now=now)
    session.commit()
    return staff


def end_staff_sessions(session: Session, *, staff_id, actor: str, now: datetime | None = None) -> None:
    """End every console session of a staff member, on every device; one commit."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("no such staff member")
    staff.sessions_valid_after = now or utcnow()
    audit.record(session, actor=actor, action="staff.sessions_ended", subject_type="staff", subject_id=staff.id,
                 now=now)
    session.commit()


_DUMMY_HASH: list[str] = []


def _spend_equal_time(password: str) -> bool:
    """Hash once for unknown names too, so response time does not tell which names exist; never a match."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(generate_password_hash("not-a-password"))
    check_password_hash(_DUMMY_HASH[0], password)
    return False


def check_password(staff: Staff, password: str) -> bool:
    """Whether the password matches (constant time inside werkzeug)."""
    return bool(staff.password_hash) and check_password_hash(staff.password_hash, password)
