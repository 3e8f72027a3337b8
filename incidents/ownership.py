"""Proving the owner of an incident's account: the incident's facts handed to the verification domain."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict, NotFound
from incidents import audit
from incidents.containment import latest_account_snapshot, store_account_snapshot
from incidents.exchange.port import ExchangeError, ExchangePort
from incidents.owner_language import owner_language
from incidents.queue import get_incident
from incidents.states import mark_in_progress
from incidents.suspicion import earliest_suspicious_activity
from verification import service as verification
from verification.models import Verification
from verification.sms import SmsGateway
from incidents import reasons

# How long a reporter is asked to wait when the exchange has not yet described the account.
SNAPSHOT_RETRY_SECONDS = 30


class AccountDetailsPending(Conflict):
    """The exchange has not described the account yet (the freeze's follow-ups are still running)."""

    slug, title = "account-details-pending", "Account details not yet available"


def start_owner_verification(session: Session, *, incident_id: uuid.UUID, actor: str, trust_days: int,
                             exchange: ExchangePort | None = None, now: datetime | None = None) -> Verification:
    """Open a verification of the account's registered TOTP and phone, judged against the incident's timeline.

    When the freeze's follow-up has not described the account yet, the exchange is asked once, here
    (outside any transaction), rather than making the owner wait for it.
    """
    incident = get_incident(session, incident_id=incident_id)
    if not incident.is_open:
        raise Conflict(f"the incident is {incident.status}")
    snapshot = latest_account_snapshot(session, incident_id=incident_id)
    if snapshot is None and exchange is not None:
        snapshot = _fetch_account_details(session, incident, exchange, now=now or utcnow())
    if snapshot is None:
        raise AccountDetailsPending("the exchange has not sent the account's details yet; try again shortly",
                                    retry_after=SNAPSHOT_RETRY_SECONDS)
    mark_in_progress(session, incident, actor=actor, reason=reasons.OWNER_STARTED_VERIFICATION, now=now)
    return verification.start_verification(
        session, incident_id=incident.id, account_id=incident.account_id, totp_secret=snapshot.totp_secret,
        phone=snapshot.phone, factor_bound_at={"totp": snapshot.totp_bound_at, "sms": snapshot.sms_bound_at},
        first_suspicious_at=earliest_suspicious_activity(session, incident, look_back_days=trust_days, now=now).at,
        recent_security_events=snapshot.security_events,
        language=owner_language(session, incident_id=incident.id), anti_phishing_code=snapshot.anti_phishing_code,
        trust_days=trust_days, audit=audit.record, actor=actor, now=now)


def refresh_account_details(session: Session, *, incident_id: uuid.UUID, exchange: ExchangePort,
                            now: datetime | None = None) -> bool:
    """Ask the exchange for the account again (the owner says they reset the password or rebound 2FA);
    one commit. False when the exchange cannot be reached right now."""
    incident = get_incident(session, incident_id=incident_id)
    if not incident.is_open:
        raise Conflict(f"the incident is {incident.status}")
    record = _fetch_account_details(session, incident, exchange, now=now or utcnow())
    session.commit()
    return record is not None


def _fetch_account_details(session: Session, incident, exchange: ExchangePort, *, now: datetime):
    """Ask the exchange to describe the account with no transaction open, keep the answer; None when it is
    unreachable (the caller answers account-details-pending)."""
    incident_id, account_id = incident.id, incident.account_id
    session.commit()  # ends this request's read transaction: no network call inside one
    try:
        answer = exchange.get_account(account_id)
    except ExchangeError as error:
        if not error.is_retryable:
            raise
        return None
    record = store_account_snapshot(session, incident_id=incident_id, answer=answer, now=now)
    audit.record(session, actor="system", action="incident.account_described", subject_type="incident",
                 subject_id=incident_id, incident_id=incident_id, data={"on_demand": True}, now=now)
    session.flush()
    return record


def send_owner_sms(session: Session, *, verification_id: uuid.UUID, gateway: SmsGateway, code_key: bytes,
                   actor: str, now: datetime | None = None) -> verification.SmsSendResult:
    """Send a new SMS code to the registered phone."""
    return verification.send_sms_code(session, verification_id=verification_id, gateway=gateway,
                                      code_key=code_key, audit=audit.record, actor=actor, now=now)


def check_owner_sms(session: Session, *, verification_id: uuid.UUID, code: str, code_key: bytes, actor: str,
                    now: datetime | None = None) -> Verification:
    """Check an SMS code."""
    return verification.check_sms_code(session, verification_id=verification_id, code=code, code_key=code_key,
                                       audit=audit.record, actor=actor, now=now)


def check_owner_totp(session: Session, *, verification_id: uuid.UUID, code: str, actor: str,
                     now: datetime | None = None) -> Verification:
    """Check a code of the account's registered authenticator."""
    found = get_verification(session, verification_id=verification_id)
    snapshot = latest_account_snapshot(session, incident_id=found.incident_id)
    if snapshot is None or not snapshot.totp_secret:
        raise Conflict("the account has no authenticator on record")
    return verification.check_totp(session, verification_id=verification_id, code=code,
                                   totp_secret=snapshot.totp_secret, audit=audit.record, actor=actor, now=now)


def review_identity(session: Session, *, verification_id: uuid.UUID, officer_id: uuid.UUID, decision: str,
                    evidence: str, now: datetime | None = None) -> Verification:
    """A risk officer's attested manual identity review."""
    return verification.decide_manual_review(session, verification_id=verification_id, officer_id=officer_id,
                                             decision=decision, evidence=evidence, audit=audit.record, now=now)


def get_verification(session: Session, *, verification_id: uuid.UUID) -> Verification:
    """Load a verification, or NotFound."""
    found = session.get(Verification, verification_id)
    if found is None:
        raise NotFound("no such verification")
    return found


def latest_verification(session: Session, *, incident_id: uuid.UUID) -> Verification | None:
    """The incident's newest verification."""
    query = (select(Verification).where(Verification.incident_id == incident_id)
             .order_by(Verification.created_at.desc()).limit(1))
    return session.scalar(query)


def own_verification(session: Session, *, incident_id: uuid.UUID, actor: str) -> Verification | None:
    """The newest verification this reporter started on the incident."""
    query = (select(Verification).where(Verification.incident_id == incident_id, Verification.started_by == actor)
             .order_by(Verification.created_at.desc()).limit(1))
    return session.scalar(query)


def wait_for_verifications(session: Session, *, incident_id: uuid.UUID) -> None:
    """Lock the incident's verifications (in id order): a verification being passed right now holds its row until
    its commit, so a decision on who proved the account, taken after this, sees that pass. Take these locks before
    the incident's row: a pass locks its verification first, then names the incident in its audit row."""
    session.execute(select(Verification.id).where(Verification.incident_id == incident_id)
                    .order_by(Verification.id).with_for_update())


def proven_by_another(session: Session, *, incident_id: uuid.UUID, actor: str) -> bool:
    """Whether another holder (another link, another browser) passed a verification on the incident: a fresh link
    from a message opens a view of its own that has proven nothing yet."""
    query = select(Verification.id).where(Verification.incident_id == incident_id, Verification.status == "passed",
                                          Verification.started_by != actor).limit(1)
    return session.scalar(query) is not None


def has_proven_ownership(session: Session, *, incident_id: uuid.UUID, actor: str) -> bool:
    """Whether this reporter passed a verification on the incident: the owner's view opens to them alone."""
    query = select(Verification.id).where(Verification.incident_id == incident_id, Verification.status == "passed",
                                          Verification.started_by == actor).limit(1)
    return session.scalar(query) is not None

