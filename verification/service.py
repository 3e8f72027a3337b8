"""Use cases of the owner's proof: start a verification, check authenticator codes, manual review.

Each use case commits once. A refused code still commits its counters and audit events before
the error is raised, so a failure can never be rolled back into a free retry. The staff TOTP use
cases live in `verification.authenticators` and the SMS ones in `verification.sms_codes`; both are
offered here too, so callers need one module.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import Conflict, InvalidInput
from verification import states
from verification.audit import AuditSink
from verification.authenticators import (
    StaffTotpEnrolment,
    audit_totp,
    check_staff_totp,
    count_staff_password_failure,
    current_time,
    enrol_staff_totp,
    reenable_factor,
    staff_sign_in_pause,
    totp_closed_error,
    totp_error,
)
from verification.lockout import judge_owner_totp
from verification.messages import resolve_language
from verification.models import FactorCheck, Verification
from verification.sms import mask_phone
from verification.sms_codes import SmsSendResult, check_sms_code, recent_sms_failures, send_sms_code
from verification.steps import (
    audit_event,
    factor_of,
    lock_verification,
    open_verification,
    pass_factor,
    settle,
    transition,
)
from verification.totp import Outcome, is_usable_secret
from verification.trust import DEFAULT_TRUST_DAYS, FACTOR_KINDS, assess_factors

__all__ = [
    "AuditSink", "SmsSendResult", "StaffTotpEnrolment", "VERIFICATION_LIFETIME", "check_sms_code",
    "check_staff_totp", "check_totp", "count_staff_password_failure", "decide_manual_review",
    "enrol_staff_totp", "reenable_factor", "send_sms_code", "staff_sign_in_pause", "start_verification",
]

VERIFICATION_LIFETIME = timedelta(minutes=30)


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
        status=states.INITIAL_FOR_REVIEW if needs_review else states.INITIAL, manual_review_required=needs_review,
        phone=phone, anti_phishing_code=anti_phishing_code, language=resolve_language(language),
        expires_at=now + VERIFICATION_LIFETIME, created_at=now, started_by=actor)
    carried = recent_sms_failures(session, account_id=account_id, actor=actor, now=now)
    for position, kind in enumerate(FACTOR_KINDS):
        if kind in registered:
            verification.factors.append(FactorCheck(
                kind=kind, position=position, status=states.FACTOR_INITIAL, trusted=trust[kind].trusted,
                trust_reason=trust[kind].reason, destination=mask_phone(phone) if kind == "sms" else None,
                attempts=carried if kind == "sms" else 0))
    session.add(verification)
    audit_event(audit, session, verification, actor, "verification.started", {
        "manual_review_required": needs_review,
        "factors": {kind: {"registered": kind in registered, "trusted": verdict.trusted,
                           "reason": verdict.reason} for kind, verdict in trust.items()}})
    session.commit()
    return verification


def check_totp(session: Session, *, verification_id: uuid.UUID | str, code: str, totp_secret: str,
               audit: AuditSink, actor: str = "reporter", now: datetime | None = None) -> Verification:
    """Check the owner's authenticator code against server time, with replay and lock rules."""
    now = current_time(now)
    verification = open_verification(session, verification_id, actor=actor, audit=audit, now=now)
    check = factor_of(verification, "totp")
    verdict = judge_owner_totp(session, verification=verification, actor=actor, secret=totp_secret, code=code,
                               now=now)
    result = verdict.result
    if result.outcome is Outcome.WRONG:
        check.attempts += 1
    if result.is_accepted or check.status == "passed":
        pass_factor(check, now)
    else:
        throttled = "locked" if result.state.disabled or result.state.locked_until else "pending"
        if check.status != throttled:
            states.transition_factor(check, throttled)
    audit_totp(audit, session, result, actor=actor, subject=("verification", verification.id),
               incident_id=verification.incident_id)
    if verdict.has_just_closed:  # staff are told: someone is guessing this account's codes
        audit_event(audit, session, verification, actor, "verification.factor_kept_for_proven_holder",
               {"factor": "totp", "total_failures": result.state.total_failures})
    if result.is_accepted:
        settle(session, verification, actor=actor, audit=audit, now=now)
    session.commit()
    error = totp_closed_error() if result.outcome is Outcome.CLOSED else totp_error(result, now)
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
    verification = lock_verification(session, verification_id)
    if not verification.manual_review_required:
        raise Conflict("this verification does not need a manual review")
    verification.reviewed_by, verification.reviewed_at = str(officer_id), now
    verification.review_decision, verification.review_evidence = decision, evidence
    to = "passed" if decision == "approve" else "failed"
    transition(session, verification, to, actor=f"staff:{officer_id}", audit=audit, now=now,
                data={"decision": decision})
    session.commit()
    return verification


def _expire_pending(session: Session, *, incident_id: uuid.UUID, actor: str, audit: AuditSink,
                    now: datetime) -> None:
    """One live verification per incident: a new one expires the pending ones."""
    query = (select(Verification).where(Verification.incident_id == incident_id,
                                        Verification.status == "pending").with_for_update())
    for verification in session.scalars(query):
        transition(session, verification, "expired", actor=actor, audit=audit, now=now,
                    data={"reason": "superseded"})

