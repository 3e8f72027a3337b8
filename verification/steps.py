"""Steps every verification use case shares: load and lock, status changes, factor outcomes, audit events."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kernel.errors import Conflict, IllegalTransition, NotFound
from verification import states
from verification.audit import AuditSink
from verification.errors import CodeExpired
from verification.models import FactorCheck, Verification


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    """Parse an id; a malformed one is as unknown as a missing one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound("verification not found") from exc


def lock_verification(session: Session, verification_id: uuid.UUID | str) -> Verification:
    """Load a verification and lock its row, so checks on it run one at a time."""
    query = (select(Verification).where(Verification.id == _as_uuid(verification_id))
             .with_for_update().execution_options(populate_existing=True))
    verification = session.scalar(query)
    if verification is None:
        raise NotFound("verification not found")
    return verification


def open_verification(session: Session, verification_id: uuid.UUID | str, *, actor: str,
                       audit: AuditSink, now: datetime) -> Verification:
    """A verification that still takes codes; a lapsed one is marked expired (committed) first."""
    verification = lock_verification(session, verification_id)
    if verification.status not in states.OPEN_STATUSES:
        raise IllegalTransition(f"the verification is {verification.status}")
    if now >= verification.expires_at:
        if verification.status == "pending":
            transition(session, verification, "expired", actor=actor, audit=audit, now=now)
            session.commit()
        raise CodeExpired("the verification has expired; start a new one")
    return verification


def factor_of(verification: Verification, kind: str) -> FactorCheck:
    """The verification's check of one factor kind."""
    check = verification.factor(kind)
    if check is None:
        raise Conflict(f"this verification has no {kind} factor")
    return check


def transition(session: Session, verification: Verification, to: str, *, actor: str,
                audit: AuditSink, now: datetime, data: dict[str, Any] | None = None) -> None:
    """The one place a verification's status changes: validated, stamped and audited."""
    previous = verification.status
    states.transition_verification(verification, to, **({"passed_at": now} if to == "passed" else {}))
    audit_event(audit, session, verification, actor, f"verification.{to}", {"from": previous, **(data or {})})


def settle(session: Session, verification: Verification, *, actor: str, audit: AuditSink,
            now: datetime) -> None:
    """Pass a verification whose factors all passed, unless a manual review must decide."""
    everything_passed = all(check.status == "passed" for check in verification.factors)
    if everything_passed and verification.status == "pending":
        transition(session, verification, "passed", actor=actor, audit=audit, now=now)


def pass_factor(check: FactorCheck, now: datetime) -> None:
    """Mark a factor passed once."""
    if check.status != "passed":
        states.transition_factor(check, "passed", passed_at=now)


def audit_event(audit: AuditSink, session: Session, verification: Verification, actor: str, action: str,
           data: dict[str, Any]) -> None:
    """An event about one verification, filed under its incident."""
    audit(session, actor=actor, action=action, subject_type="verification",
          subject_id=str(verification.id), incident_id=verification.incident_id, data=data)
