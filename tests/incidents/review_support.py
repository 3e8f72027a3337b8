"""Building cases for the review tests through the real use cases: account, report, freeze, verification."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import select

from app.db import utcnow
from app.notify import review_policy
from incidents import ownership, review
from incidents.intake import ReportInput, submit_report
from incidents.models import Incident
from incidents.access import resolve_token
from tests.factories import OWNER_TOTP_SECRET, StaffMember, exchange_account, last_sms_code
from verification.codes import derive_code_key

ANTI_PHISHING = "BLUE-OTTER-42"
REGISTERED_EMAIL = "registered-owner@example.com"
REGISTERED_PHONE = "+15555550123"


@dataclass(frozen=True)
class Case:
    """A frozen incident and the reporter's principal actor."""

    incident_id: uuid.UUID
    access_token: str
    actor: str


def sessions_of(app):
    """The application's session factory."""
    return app.extensions["lockdesk"].sessions


def open_account(app, account_id: str, *, totp_bound_days_ago: int = 60) -> None:
    """An account at the embedded exchange with long-bound (trusted) factors."""
    bound = utcnow() - timedelta(days=totp_bound_days_ago)  # opened when its factors were bound
    exchange_account(app, account_id, now=bound, totp_bound_at=bound, phone_bound_at=bound, email=REGISTERED_EMAIL,
                     phone=REGISTERED_PHONE, anti_phishing_code=ANTI_PHISHING, active_sessions=2, active_api_keys=1)


def frozen_case(app, account_id: str = "R1001", *, loss: str | None = None, language: str = "zh-CN",
                transactions: list | None = None, open_it: bool = True, contact: dict | None = None) -> Case:
    """Report a stolen account and let the outbox freeze it (with its follow-ups)."""
    if open_it:
        open_account(app, account_id)
    report = ReportInput(account_id=account_id, kind="stolen_account", description="not me",
                         contact={"email": "attacker-typed@example.net", "phone": "+15550009999"}
                         if contact is None else contact,
                         transactions=transactions or [], language=language, reported_loss=loss)
    with sessions_of(app)() as session:
        result = submit_report(session, report=report)
        # The reporter's own name in the chain: its proof of ownership is its own, not every reporter's.
        token_actor = resolve_token(session, result.access_token).actor
    drain(app)
    return Case(incident_id=result.incident.id, access_token=result.access_token, actor=token_actor)


def drain(app, now: datetime | None = None) -> int:
    """Run every due exchange command."""
    return app.extensions["lockdesk"].ports.dispatcher.drain(now=now)


def incident_of(app, case: Case) -> Incident:
    """The incident as stored now."""
    with sessions_of(app)() as session:
        return session.scalar(select(Incident).where(Incident.id == case.incident_id))


def pass_verification(app, case: Case) -> None:
    """Prove the owner with the registered authenticator and the code texted to the registered phone."""
    key = derive_code_key(app.config["SECRET_KEY"])
    gateway = app.extensions["lockdesk"].ports.sms
    with sessions_of(app)() as session:
        started = ownership.start_owner_verification(session, incident_id=case.incident_id, actor=case.actor,
                                                     trust_days=7)
        ownership.send_owner_sms(session, verification_id=started.id, gateway=gateway, code_key=key, actor=case.actor)
        code = last_sms_code(app)
        ownership.check_owner_sms(session, verification_id=started.id, code=code, code_key=key, actor=case.actor)
        ownership.check_owner_totp(session, verification_id=started.id, code=pyotp.TOTP(OWNER_TOTP_SECRET).now(),
                                   actor=case.actor)


def policy(app) -> review.ReviewPolicy:
    """The review policy of the application's settings."""
    return review_policy(app.config)


def raise_request(app, case: Case, now: datetime | None = None):
    """The owner's request, through the use case."""
    with sessions_of(app)() as session:
        return review.raise_unfreeze_request(session, incident_id=case.incident_id, actor=case.actor,
                                             policy=policy(app), now=now)


def attest_remaining(app, request_id: uuid.UUID, agent: StaffMember, now: datetime | None = None) -> None:
    """An agent vouches for what the system cannot see (password reset, 2FA rebound)."""
    for item in ("password_reset", "two_factor_rebound"):
        with sessions_of(app)() as session:
            review.attest_checklist_item(session, request_id=request_id, item=item, status="done",
                                         note="done with the owner on a call", actor=f"staff:{agent.id}",
                                         policy=policy(app), now=now)


def decide(app, request_id: uuid.UUID, officer: StaffMember, decision: str = "approve", *, now: datetime | None = None,
           reason: str = "evidence reviewed"):
    """An officer's decision with their step-up code at `now`."""
    with sessions_of(app)() as session:
        return review.decide_unfreeze_request(session, request_id=request_id, officer_id=officer.id,
                                              decision=decision, reason=reason, totp=officer.code(now),
                                              policy=policy(app), now=now)
