"""Authenticator state shared by owners and staff: locked row, TOTP judgement, audit, staff use cases.

Replay memory and lockout live on one OtpFactor row per authenticator, so a code accepted for one
verification (or one review decision) is never accepted for another.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import DomainError, InvalidInput, NotFound
from verification.audit import AuditSink
from verification.errors import (
    CodeAlreadyUsed,
    TooManyAttempts,
    TotpKeptForPhoneHolder,
    TotpNotEnrolled,
    WrongCode,
)
from verification.models import OtpFactor, TotpThrottle
from verification.totp import Outcome, TotpCheck, count_failure, reenable, verify_totp

STAFF_TOTP_ISSUER = "Lockdesk"
OWNER_KINDS = ("account", "staff")


@dataclass(frozen=True)
class StaffTotpEnrolment:
    """Shown once to the staff member: the base32 secret and the authenticator-app URI."""

    secret: str
    otpauth_uri: str


def enrol_staff_totp(session: Session, *, staff_id: Any, label: str | None = None,
                     audit: AuditSink | None = None, now: datetime | None = None) -> StaffTotpEnrolment:
    """Give a staff member a new 160-bit TOTP secret, encrypted at rest, shown once."""
    now = current_time(now)
    factor = lock_otp_factor(session, owner_kind="staff", owner_id=str(staff_id), now=now)
    secret = pyotp.random_base32(32)
    factor.secret = secret
    factor.last_step, factor.failed_attempts, factor.total_failures = None, 0, 0
    factor.locked_until, factor.disabled_at, factor.updated_at = None, None, now
    if audit is not None:
        audit(session, actor=f"staff:{staff_id}", action="staff.totp_enrolled", subject_type="staff",
              subject_id=str(staff_id), incident_id=None, data={})
    session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=label or str(staff_id), issuer_name=STAFF_TOTP_ISSUER)
    return StaffTotpEnrolment(secret=secret, otpauth_uri=uri)


def check_staff_totp(session: Session, *, staff_id: Any, code: str, audit: AuditSink,
                     now: datetime | None = None) -> None:
    """Step-up: a staff member's own current code, under the same replay and lock rules."""
    now = current_time(now)
    factor = lock_otp_factor(session, owner_kind="staff", owner_id=str(staff_id), now=now, create=False)
    if factor is None or factor.secret is None:
        raise TotpNotEnrolled("no authenticator is enrolled for this staff member")
    result = judge_totp(factor, secret=factor.secret, code=code, now=now)
    audit_totp(audit, session, result, actor=f"staff:{staff_id}", subject=("staff", str(staff_id)),
               incident_id=None)
    session.commit()
    error = totp_error(result, now)
    if error:
        raise error


def staff_sign_in_pause(session: Session, *, staff_id: Any, now: datetime) -> TooManyAttempts | None:
    """The one answer every sign-in gets while the staff member's authenticator is locked or disabled."""
    factor = lock_otp_factor(session, owner_kind="staff", owner_id=str(staff_id), now=now, create=False)
    if factor is None:
        return None
    state = factor.state
    if not state.disabled and (state.locked_until is None or now >= state.locked_until):
        return None
    return _sign_in_paused(TotpCheck(Outcome.LOCKED, state), now)


def count_staff_password_failure(session: Session, *, staff_id: Any, now: datetime) -> TooManyAttempts | None:
    """A wrong password counts like a wrong code; the answer when this failure paused the sign-in."""
    factor = lock_otp_factor(session, owner_kind="staff", owner_id=str(staff_id), now=now, create=False)
    if factor is None:
        return None
    result = count_failure(factor.state, now)
    factor.store(result.state, now=now)
    return _sign_in_paused(result, now) if result.has_just_locked or result.has_just_disabled else None


def _sign_in_paused(result: TotpCheck, now: datetime) -> TooManyAttempts:
    """Too many failed sign-ins (passwords and codes together); which one was wrong is not said."""
    return TooManyAttempts("Too many failed sign-ins; try again later.", retry_after=result.retry_after(now))


def reenable_factor(session: Session, *, owner_kind: str, owner_id: Any, actor: str,
                    audit: AuditSink, now: datetime | None = None) -> OtpFactor:
    """Staff lift a lock or a disablement after checking the holder out of band."""
    now = current_time(now)
    if owner_kind not in OWNER_KINDS:
        raise InvalidInput("owner_kind", "must be 'account' or 'staff'")
    factor = lock_otp_factor(session, owner_kind=owner_kind, owner_id=str(owner_id), now=now,
                             create=False)
    if factor is None:
        raise NotFound("no authenticator state for this owner")
    before = factor.state
    factor.store(reenable(before), now=now)
    if owner_kind == "account":  # every token's short lock goes with the account's
        session.execute(update(TotpThrottle).where(TotpThrottle.account_id == str(owner_id))
                        .values(failed_attempts=0, locked_until=None, updated_at=now))
    audit(session, actor=actor, action="verification.factor_reenabled", subject_type=owner_kind,
          subject_id=str(owner_id), incident_id=None,
          data={"was_disabled": before.disabled, "was_locked": before.locked_until is not None,
                "total_failures": before.total_failures})
    session.commit()
    return factor


def current_time(now: datetime | None) -> datetime:
    """The injected time, or the server's; always aware UTC."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("naive datetime given as `now`")
    return now


def lock_otp_factor(session: Session, *, owner_kind: str, owner_id: str, now: datetime,
                    create: bool = True) -> OtpFactor | None:
    """The authenticator's state row, created if missing and locked (FOR UPDATE on PostgreSQL)."""
    if create:
        _insert_factor_if_missing(session, owner_kind=owner_kind, owner_id=owner_id, now=now)
    query = (select(OtpFactor).where(OtpFactor.owner_kind == owner_kind, OtpFactor.owner_id == owner_id)
             .with_for_update().execution_options(populate_existing=True))
    return session.scalar(query)


def _insert_factor_if_missing(session: Session, *, owner_kind: str, owner_id: str, now: datetime) -> None:
    """Insert the row unless it exists; concurrent first uses never collide on the unique key."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(OtpFactor).values(
        id=uuid.uuid4(), owner_kind=owner_kind, owner_id=owner_id, failed_attempts=0,
        total_failures=0, created_at=now, updated_at=now,
    ).on_conflict_do_nothing(index_elements=["owner_kind", "owner_id"])
    session.execute(statement)


def judge_totp(factor: OtpFactor, *, secret: str, code: str, now: datetime) -> TotpCheck:
    """Run the pure TOTP rules on a locked row and store the new state on it."""
    result = verify_totp(secret, code, state=factor.state, now=now)
    factor.store(result.state, now=now)
    return result


def audit_totp(audit: AuditSink, session: Session, result: TotpCheck, *, actor: str,
               subject: tuple[str, Any], incident_id: uuid.UUID | None) -> None:
    """Every attempt is an event; locks, disablements and reuse get their own (no codes, no steps)."""
    subject_type, subject_id = subject

    def emit(action: str, data: dict[str, Any]) -> None:
        audit(session, actor=actor, action=action, subject_type=subject_type,
              subject_id=str(subject_id), incident_id=incident_id, data=data)

    emit("verification.totp_checked", {"outcome": result.outcome.value,
                                       "failed_attempts": result.state.failed_attempts,
                                       "total_failures": result.state.total_failures})
    if result.is_reuse:
        emit("verification.code_reused", {"factor": "totp", "notify_holder": True})
    if result.has_just_locked:
        emit("verification.factor_locked", {"factor": "totp",
                                            "locked_until": result.state.locked_until.isoformat()})
    if result.has_just_disabled:
        emit("verification.factor_disabled", {"factor": "totp"})


def totp_closed_error() -> DomainError:
    """The answer to an unproven token once the account's authenticator is kept for the phone's holder."""
    return TotpKeptForPhoneHolder()


def totp_error(result: TotpCheck, now: datetime) -> DomainError | None:
    """The problem a refused TOTP attempt answers with (a locked factor hides right codes too)."""
    if result.outcome is Outcome.ACCEPTED:
        return None
    if result.outcome is Outcome.REUSED:
        return CodeAlreadyUsed("This code has already been used.")
    if result.outcome is Outcome.WRONG and result.remaining_attempts > 0 and not result.state.disabled:
        return WrongCode(remaining_attempts=result.remaining_attempts)
    return TooManyAttempts("Too many attempts; the authenticator is locked.",
                           retry_after=result.retry_after(now))
