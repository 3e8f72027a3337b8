"""Fixtures of the page tests: an injectable clock, exchange accounts, staff who can sign in, owners' codes."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from app.db import utcnow
from exchange_sim.backoffice import NewAccount, add_account
from incidents.staff import create_staff, set_password
from verification.service import enrol_staff_totp

OWNER_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
STAFF_PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


class Clock:
    """A clock the pages read (LOCKDESK_CLOCK) that a test moves forward."""

    def __init__(self, start: datetime | None = None):
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        """The current test time."""
        return self.now

    def advance(self, **delta) -> None:
        """Move time forward."""
        self.now += timedelta(**delta)


@dataclass
class StaffMember:
    """A staff member with a console password and an enrolled authenticator."""

    name: str
    role: str
    totp_secret: str
    id: object

    def code(self, at: datetime) -> str:
        """The authenticator's code at a time."""
        return pyotp.TOTP(self.totp_secret).at(at)


@pytest.fixture
def clock() -> Clock:
    """The pages' clock, starting now."""
    return Clock()


@pytest.fixture
def settings(settings, clock):
    """The shared test settings, with the pages' clock injected."""
    return {**settings, "LOCKDESK_CLOCK": clock}


def open_exchange_account(app, account_id: str, *, bound_days_ago: int = 400) -> str:
    """An account at the embedded exchange whose factors were bound long ago (so they are trusted)."""
    bound = utcnow() - timedelta(days=bound_days_ago)
    with app.extensions["lockdesk"].sessions() as session:
        add_account(session, account=NewAccount(
            account_id=account_id, email="owner@example.com", phone="+15550001", totp_secret=OWNER_TOTP_SECRET,
            totp_bound_at=bound, phone_bound_at=bound, anti_phishing_code="BLUE-HERON"))
    return account_id


def make_staff(app, name: str, role: str) -> StaffMember:
    """A staff member who can sign in to the console."""
    with app.extensions["lockdesk"].sessions() as session:
        created = create_staff(session, name=name, role=role)
        set_password(session, name=name, password=STAFF_PASSWORD)
        enrolment = enrol_staff_totp(session, staff_id=created.staff.id, label=name)
        return StaffMember(name=name, role=role, totp_secret=enrolment.secret, id=created.staff.id)


@pytest.fixture
def agent(app) -> StaffMember:
    """An agent with a console password and an authenticator."""
    return make_staff(app, "agent-1", "agent")


@pytest.fixture
def officer(app) -> StaffMember:
    """A risk officer with a console password and an authenticator."""
    return make_staff(app, "officer-1", "risk_officer")


def run_follow_ups(app) -> None:
    """Run the freeze's follow-ups (snapshot, withdrawals) the background worker would run."""
    app.extensions["lockdesk"].ports["dispatcher"].drain()


def totp_now(at: datetime | None = None) -> str:
    """The owner's authenticator code."""
    return pyotp.TOTP(OWNER_TOTP_SECRET).at(at or datetime.now(UTC))


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
