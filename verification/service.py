"""Use cases of the owner's proof: start a verification, send and check codes, manual review.

Each use case commits once. A refused code still commits its counters and audit events before
the error is raised, so a failure can never be rolled back into a free retry. The staff TOTP use
cases live in `verification.authenticators` and are offered here too, so callers need one module.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Conflict, DomainError, InvalidInput, NotFound, RateLimited
from verification import codes, states
from verification.audit import AuditSink
from verification.authenticators import (
    StaffTotpEnrolment,
    audit_totp,
    check_staff_totp,
    current_time,
    enrol_staff_totp,
    judge_totp,
    lock_otp_factor,
    reenable_factor,
    totp_error,
)
from verification.errors import (
    CodeAlreadyUsed,
    CodeExpired,
    IllegalTransition,
    TooManyAttempts,
    WrongCode,
)
from verification.messages import resolve_language, sms_code_text
from verification.models import FactorCheck, SmsCode, Verification
from verification.sms import SmsDeliveryFailed, SmsGateway, mask_phone
from verification.totp import Outcome, is_usable_secret
from verification.trust import DEFAULT_TRUST_DAYS, FACTOR_KINDS, assess_factors

__all__ = [
    "AuditSink", "SmsSendResult", "StaffTotpEnrolment", "VERIFICATION_LIFETIME", "check_sms_code",
    "check_staff_totp", "check_totp", "decide_manual_review", "enrol_staff_totp", "reenable_factor",
    "send_sms_code", "start_verification",
]

VERIFICATION_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class SmsSendResult:
    """A code was sent; another may be asked for after `resend_after` seconds."""

    resend_after: int


def start_verification(session: Session, *, incident_id: uuid.UUID, account_id: str,
                       totp_secret: str | None, phone: str | None,
                       factor_bound_at: dict[str, datetime | None],
                       first_suspicious_at: datetime | None, recent_security_events: list,
                       language: str | None, anti_phishing_code: str | None,
                       trust_days: int = DEFAULT_TRUST_DAYS, audit: AuditSink,
                       actor: str = "reporter", now: datetime | None = None) -> Verification:
    """Open a verification with a TOTP and an SMS factor, each judged trusted or not."""
    now = current_time(now)
    # A secret pyotp cannot use counts as no authenticator: the review replaces it.
    present = (("totp", is_usable_secret(totp_secret)), ("sms", bool(phone)))
    registered = [kind for kind, is_present in present if is_present]
    trust = assess_factors(factor_bound_at=factor_bound_at, registered=registered,
                           first_suspicious_at=first_suspicious_at, events=recent_security_events,
                           trust_days=trust_days, now=now)
    _expire_pending(session, incident_id=incident_id, actor=actor, audit=audit, now=now)
    needs_review = not all(verdict.trusted for verdict in trust.values())
    verification = Verification(
        id=uuid.uuid4(), incident_id=incident_id, account_id=account_id,
        status="manual_review" if needs_review else "pending", manual_review_required=needs_review,
        phone=phone, anti_phishing_code=anti_phishing_code, language=resolve_language(language),
        expires_at=now + VERIFICATION_LIFETIME, created_at=now, started_by=actor)
    carried = _recent_sms_failures(session, account_id=account_id, now=now)
    for position, kind in enumerate(FACTOR_KINDS):
        if kind in registered:
            verification.factors.append(FactorCheck(
                kind=kind, position=position, status="pending", trusted=trust[kind].trusted,
                trust_reason=trust[kind].reason, destination=mask_phone(phone) if kind == "sms" else None,
                attempts=carried if kind == "sms" else 0))
    session.add(verification)
    _audit(audit, session, verification, actor, "verification.started", {
        "manual_review_required": needs_review,
        "factors": {kind: {"registered": kind in registered, "trusted": verdict.trusted,
                           "reason": verdict.reason} for kind, verdict in trust.items()}})
    session.commit()
    return verification


def send_sms_code(session: Session, *, verification_id: uuid.UUID | str, gateway: SmsGateway,
                  code_key: bytes, audit: AuditSink, actor: str = "reporter",
                  now: datetime | None = None) -> SmsSendResult:
    """Store a new code's hash and commit, then hand the text to the gateway."""
    now = current_time(now)
    verification = _open_verification(session, verification_id, actor=actor, audit=audit, now=now)
    check = _factor(verification, "sms")
    if check.status == "passed":
        raise Conflict("the SMS factor of this verification has already passed")
    if check.attempts >= codes.MAX_WRONG_TRIES:
        raise TooManyAttempts("Too many wrong codes; no new code can be sent.", retry_after=None)
    decision = codes.may_send(last_sent_at=_last_code_sent_at(session, verification.id),
                              sends_in_last_hour=_account_sends(session, verification.account_id, now),
                              now=now)
    if not decision.is_allowed:
        raise RateLimited("A new code cannot be sent yet.", retry_after=decision.retry_after)
    code = codes.generate_code()
    row = SmsCode(id=uuid.uuid4(), verification_id=verification.id, account_id=verification.account_id,
                  code_hash=codes.hash_code(code_key, verification_id=verification.id, code=code),
                  created_at=now, expires_at=now + codes.CODE_LIFETIME, attempts=0)
    session.add(row)
    body = sms_code_text(code=code, minutes=int(codes.CODE_LIFETIME.total_seconds() // 60),
                         language=verification.language,
                         anti_phishing_code=verification.anti_phishing_code)
    destination, phone = check.destination, verification.phone
    _audit(audit, session, verification, actor, "verification.sms_code_issued",
           {"destination": destination, "expires_at": row.expires_at.isoformat()})
    session.commit()
    _deliver(session, gateway=gateway, row=row, verification=verification, phone=phone, body=body,
             actor=actor, audit=audit, now=now)
    return SmsSendResult(resend_after=int(codes.RESEND_AFTER.total_seconds()))


def check_sms_code(session: Session, *, verification_id: uuid.UUID | str, code: str, code_key: bytes,
                   audit: AuditSink, actor: str = "reporter", now: datetime | None = None) -> Verification:
    """Check the latest SMS code of a verification: single use, 10 minutes, 5 wrong tries in all."""
    now = current_time(now)
    verification = _open_verification(session, verification_id, actor=actor, audit=audit, now=now)
    check = _factor(verification, "sms")
    row = session.scalar(select(SmsCode).where(SmsCode.verification_id == verification.id)
                         .order_by(SmsCode.created_at.desc()).limit(1).with_for_update())
    if row is None:
        raise Conflict("no code has been sent for this verification")
    result = codes.check_code(code_key, verification_id=verification.id, code=code, now=now,
                              state=codes.CodeState(code_hash=row.code_hash, expires_at=row.expires_at,
                                                    failures=check.attempts, used_at=row.used_at,
                                                    burned_at=row.burned_at))
    error = _apply_sms_check(session, verification, check, row, result, actor=actor, audit=audit, now=now)
    session.commit()
    if error:
        raise error
    return verification


def check_totp(session: Session, *, verification_id: uuid.UUID | str, code: str, totp_secret: str,
               audit: AuditSink, actor: str = "reporter", now: datetime | None = None) -> Verification:
    """Check the owner's authenticator code against server time, with replay and lock rules."""
    now = current_time(now)
    verification = _open_verification(session, verification_id, actor=actor, audit=audit, now=now)
    check = _factor(verification, "totp")
    factor = lock_otp_factor(session, owner_kind="account", owner_id=verification.account_id, now=now)
    result = judge_totp(factor, secret=totp_secret, code=code, now=now)
    if result.outcome is Outcome.WRONG:
        check.attempts += 1
    if result.is_accepted or check.status == "passed":
        _pass_factor(check, now)
    else:
        check.status = "locked" if result.state.disabled or result.state.locked_until else "pending"
    audit_totp(audit, session, result, actor=actor, subject=("verification", verification.id),
               incident_id=verification.incident_id)
    if result.is_accepted:
        _settle(session, verification, actor=actor, audit=audit, now=now)
    session.commit()
    error = totp_error(result, now)
    if error:
        raise error
    return verification


def decide_manual_review(session: Session, *, verification_id: uuid.UUID | str, officer_id: Any,
                         decision: str, evidence: str, audit: AuditSink,
                         now: datetime | None = None) -> Verification:
    """A risk officer's attested identity review ends a verification that needs one."""
    now = current_time(now)
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision", "must be 'approve' or 'reject'")
    verification = _lock_verification(session, verification_id)
    if not verification.manual_review_required:
        raise Conflict("this verification does not need a manual review")
    verification.reviewed_by, verification.reviewed_at = str(officer_id), now
    verification.review_decision, verification.review_evidence = decision, evidence
    to = "passed" if decision == "approve" else "failed"
    _transition(session, verification, to, actor=f"staff:{officer_id}", audit=audit, now=now,
                data={"decision": decision})
    session.commit()
    return verification


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    """Parse an id; a malformed one is as unknown as a missing one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound("verification not found") from exc


def _lock_verification(session: Session, verification_id: uuid.UUID | str) -> Verification:
    """Load a verification and lock its row, so checks on it run one at a time."""
    query = (select(Verification).where(Verification.id == _as_uuid(verification_id))
             .with_for_update().execution_options(populate_existing=True))
    verification = session.scalar(query)
    if verification is None:
        raise NotFound("verification not found")
    return verification


def _open_verification(session: Session, verification_id: uuid.UUID | str, *, actor: str,
                       audit: AuditSink, now: datetime) -> Verification:
    """A verification that still takes codes; a lapsed one is marked expired (committed) first."""
    verification = _lock_verification(session, verification_id)
    if verification.status not in states.OPEN_STATUSES:
        raise IllegalTransition(f"the verification is {verification.status}")
    if now >= verification.expires_at:
        if verification.status == "pending":
            _transition(session, verification, "expired", actor=actor, audit=audit, now=now)
            session.commit()
        raise CodeExpired("the verification has expired; start a new one")
    return verification


def _factor(verification: Verification, kind: str) -> FactorCheck:
    """The verification's check of one factor kind."""
    check = verification.factor(kind)
    if check is None:
        raise Conflict(f"this verification has no {kind} factor")
    return check


def _transition(session: Session, verification: Verification, to: str, *, actor: str,
                audit: AuditSink, now: datetime, data: dict[str, Any] | None = None) -> None:
    """The one place a verification's status changes: validated, stamped and audited."""
    if not states.can_transition(verification.status, to):
        raise IllegalTransition(f"a {verification.status} verification cannot become {to}")
    previous, verification.status = verification.status, to
    if to == "passed":
        verification.passed_at = now
    _audit(audit, session, verification, actor, f"verification.{to}", {"from": previous, **(data or {})})


def _settle(session: Session, verification: Verification, *, actor: str, audit: AuditSink,
            now: datetime) -> None:
    """Pass a verification whose factors all passed, unless a manual review must decide."""
    everything_passed = all(check.status == "passed" for check in verification.factors)
    if everything_passed and verification.status == "pending":
        _transition(session, verification, "passed", actor=actor, audit=audit, now=now)


def _pass_factor(check: FactorCheck, now: datetime) -> None:
    """Mark a factor passed once."""
    if check.status != "passed":
        check.status, check.passed_at = "passed", now


def _apply_sms_check(session: Session, verification: Verification, check: FactorCheck, row: SmsCode,
                     result: codes.CodeCheck, *, actor: str, audit: AuditSink,
                     now: datetime) -> DomainError | None:
    """Store an SMS check's outcome and audit it; return the error to raise after the commit."""
    check.attempts = result.failures
    row.used_at, row.burned_at = result.used_at, row.burned_at or result.burned_at
    if result.outcome is codes.CodeOutcome.WRONG:
        row.attempts += 1
    _audit(audit, session, verification, actor, "verification.sms_code_checked",
           {"outcome": result.outcome.value, "failures": result.failures})
    if result.outcome is codes.CodeOutcome.ACCEPTED:
        _pass_factor(check, now)
        _settle(session, verification, actor=actor, audit=audit, now=now)
        return None
    if result.outcome is codes.CodeOutcome.USED:
        _audit(audit, session, verification, actor, "verification.code_reused", {"factor": "sms"})
        return CodeAlreadyUsed("This code has already been used.")
    if result.outcome is codes.CodeOutcome.EXPIRED:
        return CodeExpired("This code has expired; ask for a new one.")
    if result.remaining_attempts > 0:
        return WrongCode(remaining_attempts=result.remaining_attempts)
    if check.status != "failed":
        # The verification stays open but can no longer pass; it lapses at expires_at.
        check.status = "failed"
        _audit(audit, session, verification, actor, "verification.sms_code_burned",
               {"failures": result.failures})
    return TooManyAttempts("Too many wrong codes.", retry_after=None)


def _deliver(session: Session, *, gateway: SmsGateway, row: SmsCode, verification: Verification,
             phone: str, body: str, actor: str, audit: AuditSink, now: datetime) -> None:
    """Send after the commit; a refused send burns the code in a short second transaction."""
    try:
        gateway.send(to=phone, body=body)
    except SmsDeliveryFailed as exc:
        session.rollback()
        stored = session.get(SmsCode, row.id, with_for_update=True, populate_existing=True)
        stored.burned_at = stored.burned_at or now
        _audit(audit, session, verification, actor, "verification.sms_delivery_failed",
               {"destination": mask_phone(phone), "error": exc.detail})
        session.commit()
        raise


def _last_code_sent_at(session: Session, verification_id: uuid.UUID) -> datetime | None:
    """When this verification's latest code was issued."""
    return session.scalar(select(func.max(SmsCode.created_at))
                          .where(SmsCode.verification_id == verification_id))


def _account_sends(session: Session, account_id: str, now: datetime) -> list[datetime]:
    """Issue times of the account's codes in the last hour, across its verifications."""
    query = select(SmsCode.created_at).where(SmsCode.account_id == account_id,
                                             SmsCode.created_at > now - codes.SEND_WINDOW)
    return list(session.scalars(query))


def _recent_sms_failures(session: Session, *, account_id: str, now: datetime) -> int:
    """Wrong SMS tries carried into a new verification, so starting over resets nothing."""
    query = (select(func.max(FactorCheck.attempts)).join(Verification)
             .where(Verification.account_id == account_id, FactorCheck.kind == "sms",
                    Verification.status != "passed",
                    Verification.created_at > now - codes.SEND_WINDOW))
    return session.scalar(query) or 0


def _expire_pending(session: Session, *, incident_id: uuid.UUID, actor: str, audit: AuditSink,
                    now: datetime) -> None:
    """One live verification per incident: a new one expires the pending ones."""
    query = (select(Verification).where(Verification.incident_id == incident_id,
                                        Verification.status == "pending").with_for_update())
    for verification in session.scalars(query):
        _transition(session, verification, "expired", actor=actor, audit=audit, now=now,
                    data={"reason": "superseded"})


def _audit(audit: AuditSink, session: Session, verification: Verification, actor: str, action: str,
           data: dict[str, Any]) -> None:
    """An event about one verification, filed under its incident."""
    audit(session, actor=actor, action=action, subject_type="verification",
          subject_id=str(verification.id), incident_id=verification.incident_id, data=data)
