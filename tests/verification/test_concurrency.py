"""Check-and-act is atomic: the same code posted at once twice succeeds exactly once."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyotp

from kernel.errors import DomainError
from verification import service
from verification.errors import CodeAlreadyUsed

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 11, 21, 12, 0, 15, tzinfo=UTC)
ROUNDS = 5


def _race(sessions, attempt) -> list[str]:
    """Run `attempt(session)` in two threads released together; name each outcome."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        with sessions() as session:
            barrier.wait()
            try:
                attempt(session)
                outcomes.append("accepted")
            except CodeAlreadyUsed:
                outcomes.append("code-already-used")
            except DomainError as error:
                outcomes.append(error.slug)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


def test_the_same_totp_code_posted_concurrently_twice_succeeds_once(sessions, make_incident, audit):
    """ASVS 5.0.0 15.4.2 and RFC 6238 §5.2: FOR UPDATE on PostgreSQL, serialised writes on SQLite."""
    incident = make_incident()
    with sessions() as session:
        verification = service.start_verification(
            session, incident_id=incident.id, account_id=incident.account_id, totp_secret=SECRET,
            phone="+15555550001", factor_bound_at={"totp": NOW - timedelta(days=90), "sms": NOW - timedelta(days=90)},
            first_suspicious_at=NOW - timedelta(hours=1), recent_security_events=[], language="en",
            anti_phishing_code=None, audit=audit, now=NOW)
    for round_number in range(ROUNDS):
        now = NOW + timedelta(seconds=30 * round_number)
        code = pyotp.TOTP(SECRET).at(now)
        outcomes = _race(sessions, lambda session: service.check_totp(
            session, verification_id=verification.id, code=code, totp_secret=SECRET, audit=audit, now=now))
        assert outcomes == ["accepted", "code-already-used"], f"round {round_number}"


def test_the_same_staff_code_posted_concurrently_twice_succeeds_once(sessions, audit):
    """The authenticator row itself is locked, whatever verification or review uses it."""
    with sessions() as session:
        secret = service.enrol_staff_totp(session, staff_id="officer-race").secret
    for round_number in range(ROUNDS):
        now = NOW + timedelta(seconds=30 * round_number)
        code = pyotp.TOTP(secret).at(now)
        outcomes = _race(sessions, lambda session: service.check_staff_totp(
            session, staff_id="officer-race", code=code, audit=audit, now=now))
        assert outcomes == ["accepted", "code-already-used"], f"round {round_number}"
