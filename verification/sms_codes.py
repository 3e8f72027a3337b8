"""The owner's SMS codes: send one (token and account quotas), check one (bound to the token that asked).

Each use case commits once; a refused code commits its counters and audit events before the error is raised.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kernel.errors import Conflict, DomainError, RateLimited
from verification import codes, states
from verification.audit import AuditSink
from verification.authenticators import current_time
from verification.errors import CodeAlreadyUsed, CodeExpired, TooManyAttempts, WrongCode
from verification.messages import sms_code_text
from verification.models import FactorCheck, SmsCode, Verification
from verification.sms import SmsDeliveryFailed, SmsGateway, mask_phone
from verification.steps import audit_event, factor_of, open_verification, pass_factor, settle


@dataclass(frozen=True)
class SmsSendResult:
    """A code was sent; another may be asked for after `resend_after` seconds."""

    resend_after: int


def send_sms_code(session: Session, *, verification_id: uuid.UUID | str, gateway: SmsGateway,
                  code_key: bytes, audit: AuditSink, actor: str = "reporter",
                  now: datetime | None = None) -> SmsSendResult:
    """Store a new code's hash and commit, then hand the text to the gateway."""
    now = current_time(now)
    verification = open_verification(session, verification_id, actor=actor, audit=audit, now=now)
    check = factor_of(verification, "sms")
    if check.status == "passed":
        raise Conflict("the SMS factor of this verification has already passed")
    if check.attempts >= codes.MAX_WRONG_TRIES:
        raise TooManyAttempts("Too many wrong codes; no new code can be sent.", retry_after=None)
    decision = codes.may_send(last_sent_at=_last_code_sent_at(session, verification.id),
                              token_sends=_sends(session, verification.account_id, now, requested_by=actor),
                              account_sends=_sends(session, verification.account_id, now), now=now)
    if not decision.is_allowed:
        raise RateLimited("A new code cannot be sent yet.", retry_after=decision.retry_after)
    code = codes.generate_code()
    row = SmsCode(id=uuid.uuid4(), verification_id=verification.id, account_id=verification.account_id,
                  code_hash=codes.hash_code(code_key, verification_id=verification.id, code=code),
                  created_at=now, expires_at=now + codes.CODE_LIFETIME, attempts=0, requested_by=actor)
    session.add(row)
    body = sms_code_text(code=code, minutes=int(codes.CODE_LIFETIME.total_seconds() // 60),
                         language=verification.language,
                         anti_phishing_code=verification.anti_phishing_code)
    destination, phone = check.destination, verification.phone
    audit_event(audit, session, verification, actor, "verification.sms_code_issued",
           {"destination": destination, "expires_at": row.expires_at.isoformat()})
    session.commit()
    _deliver(session, gateway=gateway, row=row, verification=verification, phone=phone, body=body,
             actor=actor, audit=audit, now=now)
    return SmsSendResult(resend_after=int(codes.RESEND_AFTER.total_seconds()))


def check_sms_code(session: Session, *, verification_id: uuid.UUID | str, code: str, code_key: bytes,
                   audit: AuditSink, actor: str = "reporter", now: datetime | None = None) -> Verification:
    """Check the latest SMS code of a verification: single use, 10 minutes, 5 wrong tries in all."""
    now = current_time(now)
    verification = open_verification(session, verification_id, actor=actor, audit=audit, now=now)
    check = factor_of(verification, "sms")
    # The newest code this token asked for: a code is bound to its request (ASVS 4.0.3 2.7.3).
    row = session.scalar(select(SmsCode).where(SmsCode.verification_id == verification.id,
                                               or_(SmsCode.requested_by == actor, SmsCode.requested_by.is_(None)))
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


def _apply_sms_check(session: Session, verification: Verification, check: FactorCheck, row: SmsCode,
                     result: codes.CodeCheck, *, actor: str, audit: AuditSink,
                     now: datetime) -> DomainError | None:
    """Store an SMS check's outcome and audit it; return the error to raise after the commit."""
    check.attempts = result.failures
    row.used_at, row.burned_at = result.used_at, row.burned_at or result.burned_at
    if result.outcome is codes.CodeOutcome.WRONG:
        row.attempts += 1
    audit_event(audit, session, verification, actor, "verification.sms_code_checked",
           {"outcome": result.outcome.value, "failures": result.failures})
    if result.outcome is codes.CodeOutcome.ACCEPTED:
        pass_factor(check, now)
        settle(session, verification, actor=actor, audit=audit, now=now)
        return None
    if result.outcome is codes.CodeOutcome.USED:
        audit_event(audit, session, verification, actor, "verification.code_reused", {"factor": "sms"})
        return CodeAlreadyUsed("This code has already been used.")
    if result.outcome is codes.CodeOutcome.EXPIRED:
        return CodeExpired("This code has expired; ask for a new one.")
    if result.remaining_attempts > 0:
        return WrongCode(remaining_attempts=result.remaining_attempts)
    if check.status != "failed":
        # The verification stays open but can no longer pass; it lapses at expires_at.
        states.transition_factor(check, "failed")
        audit_event(audit, session, verification, actor, "verification.sms_code_burned",
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
        audit_event(audit, session, verification, actor, "verification.sms_delivery_failed",
               {"destination": mask_phone(phone), "error": exc.detail})
        session.commit()
        raise


def _last_code_sent_at(session: Session, verification_id: uuid.UUID) -> datetime | None:
    """When this verification's latest code was issued."""
    return session.scalar(select(func.max(SmsCode.created_at))
                          .where(SmsCode.verification_id == verification_id))


def _sends(session: Session, account_id: str, now: datetime, *, requested_by: str | None = None) -> list[datetime]:
    """Issue times of the account's codes in the last hour (only one token's, when named)."""
    query = select(SmsCode.created_at).where(SmsCode.account_id == account_id,
                                             SmsCode.created_at > now - codes.SEND_WINDOW)
    if requested_by is not None:
        query = query.where(SmsCode.requested_by == requested_by)
    return list(session.scalars(query))


def recent_sms_failures(session: Session, *, account_id: str, actor: str, now: datetime) -> int:
    """Wrong SMS tries of this token carried into its new verification, so starting over resets nothing
    (another token's wrong tries are not carried: a stranger cannot burn the owner's codes)."""
    asked = select(SmsCode.verification_id).where(SmsCode.account_id == account_id, SmsCode.requested_by == actor,
                                                  SmsCode.created_at > now - codes.SEND_WINDOW)
    query = (select(func.max(FactorCheck.attempts)).join(Verification)
             .where(Verification.account_id == account_id, FactorCheck.kind == "sms",
                    Verification.status != "passed", Verification.id.in_(asked),
                    Verification.created_at > now - codes.SEND_WINDOW))
    return session.scalar(query) or 0
