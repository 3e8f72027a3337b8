"""Lock-outs throttle the guesser, not the owner (issue 17 item 3), on SQLite and PostgreSQL.

Two tokens of one case: a stranger's, who attached a report of the owner's account, and the owner's.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from kernel.errors import Conflict
from verification import service
from verification.errors import TooManyAttempts, WrongCode
from verification.lockout import UNPROVEN_CEILING
from verification.models import OtpFactor

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PHONE = "+15555550001"
NOW = datetime(2026, 11, 21, 12, 0, 15, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=200)
STRANGER, OWNER = "reporter:stranger", "reporter:owner"


def start(session, incident, audit, actor, now=NOW):
    return service.start_verification(
        session, incident_id=incident.id, account_id=incident.account_id, totp_secret=SECRET, phone=PHONE,
        factor_bound_at={"totp": LONG_AGO, "sms": LONG_AGO}, first_suspicious_at=NOW - timedelta(hours=6),
        recent_security_events=[], language="en", anti_phishing_code=None, audit=audit, actor=actor, now=now)


def totp(session, verification, code, audit, actor, now=NOW):
    return service.check_totp(session, verification_id=verification.id, code=code, totp_secret=SECRET,
                              audit=audit, actor=actor, now=now)


def send(session, verification, gateway, code_key, audit, actor, now=NOW):
    return service.send_sms_code(session, verification_id=verification.id, gateway=gateway, code_key=code_key,
                                 audit=audit, actor=actor, now=now)


def sms(session, verification, code, code_key, audit, actor, now=NOW):
    return service.check_sms_code(session, verification_id=verification.id, code=code, code_key=code_key,
                                  audit=audit, actor=actor, now=now)


def wrong_totp(at: datetime) -> str:
    return "000000" if pyotp.TOTP(SECRET).at(at) != "000000" else "111111"


def account_failures(sessions, account_id: str) -> int:
    with sessions() as fresh:
        return fresh.scalar(select(OtpFactor.total_failures).where(OtpFactor.owner_id == account_id))


def test_a_strangers_wrong_codes_do_not_lock_the_owners_authenticator(session, make_incident, audit):
    """Issue 17 item 3: five wrong codes lock the token that entered them, not the owner's fresh verification."""
    incident = make_incident()
    theirs = start(session, incident, audit, STRANGER)
    for _ in range(4):
        with pytest.raises(WrongCode):
            totp(session, theirs, wrong_totp(NOW), audit, STRANGER)
    with pytest.raises(TooManyAttempts) as locked:
        totp(session, theirs, wrong_totp(NOW), audit, STRANGER)
    assert locked.value.extra["retry_after"] == 15 * 60
    later = NOW + timedelta(minutes=1)
    with pytest.raises(TooManyAttempts):  # the stranger stays locked, whatever verification they start
        totp(session, start(session, incident, audit, STRANGER, now=later), wrong_totp(later), audit, STRANGER,
             now=later)
    mine = start(session, incident, audit, OWNER, now=later)
    passed = totp(session, mine, pyotp.TOTP(SECRET).at(later), audit, OWNER, now=later)
    assert passed.factor("totp").status == "passed"


def test_unproven_tokens_cannot_drive_the_account_ceiling_to_disable_the_owners_authenticator(
        session, sessions, make_incident, audit, gateway, code_key):
    """Issue 17 item 3 and 63B-3 §5.2.2: after 90 consecutive failures only a token that entered a right SMS
    code may try; the owner, who holds the phone, still passes, and the run starts over."""
    incident = make_incident()
    session.add(OtpFactor(owner_kind="account", owner_id=incident.account_id, total_failures=UNPROVEN_CEILING - 1,
                          failed_attempts=0, created_at=NOW, updated_at=NOW))
    session.commit()
    theirs = start(session, incident, audit, STRANGER)
    with pytest.raises(WrongCode):
        totp(session, theirs, wrong_totp(NOW), audit, STRANGER)
    assert "verification.factor_kept_for_proven_holder" in audit.actions()
    for _ in range(20):  # refused without counting: the stranger cannot reach the ceiling of 100
        with pytest.raises(TooManyAttempts) as closed:
            totp(session, theirs, wrong_totp(NOW), audit, STRANGER)
        assert closed.value.extra["retry_after"] is None
    assert account_failures(sessions, incident.account_id) == UNPROVEN_CEILING
    mine = start(session, incident, audit, OWNER, now=NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=1)
    with pytest.raises(TooManyAttempts, match="text message code first"):
        totp(session, mine, pyotp.TOTP(SECRET).at(later), audit, OWNER, now=later)
    send(session, mine, gateway, code_key, audit, OWNER, now=later)
    sms(session, mine, gateway.last_code(), code_key, audit, OWNER, now=later)
    assert totp(session, mine, pyotp.TOTP(SECRET).at(later), audit, OWNER, now=later).status == "passed"
    assert account_failures(sessions, incident.account_id) == 0


def test_the_account_still_disables_its_authenticator_after_100_consecutive_failures(
        session, sessions, make_incident, audit, gateway, code_key):
    """63B-3 §5.2.2: ≤ 100 consecutive failures on the account, whoever makes them; staff re-enable it."""
    incident = make_incident()
    session.add(OtpFactor(owner_kind="account", owner_id=incident.account_id, total_failures=UNPROVEN_CEILING,
                          failed_attempts=0, created_at=NOW, updated_at=NOW))
    session.commit()
    proven = start(session, incident, audit, OWNER)
    send(session, proven, gateway, code_key, audit, OWNER)
    sms(session, proven, gateway.last_code(), code_key, audit, OWNER)
    for minute in (0, 16):  # two rounds of five, waiting out the short lock between them
        now = NOW + timedelta(minutes=minute)
        for _ in range(5):
            with pytest.raises((WrongCode, TooManyAttempts)):
                totp(session, proven, wrong_totp(now), audit, OWNER, now=now)
    assert account_failures(sessions, incident.account_id) == 100
    assert "verification.factor_disabled" in audit.actions()
    with pytest.raises(TooManyAttempts):
        totp(session, proven, pyotp.TOTP(SECRET).at(NOW + timedelta(minutes=17)), audit, OWNER,
             now=NOW + timedelta(minutes=17))


def test_a_strangers_wrong_sms_tries_do_not_burn_the_owners_codes(session, make_incident, audit, gateway, code_key):
    """Issue 17 item 3: wrong SMS tries carry into the same token's next verification, not into another's."""
    incident = make_incident()
    theirs = start(session, incident, audit, STRANGER)
    send(session, theirs, gateway, code_key, audit, STRANGER)
    for _ in range(5):
        with pytest.raises((WrongCode, TooManyAttempts)):
            sms(session, theirs, "000000" if gateway.last_code() != "000000" else "111111", code_key, audit, STRANGER)
    later = NOW + timedelta(minutes=2)
    assert start(session, incident, audit, STRANGER, now=later).factor("sms").attempts == 5
    mine = start(session, incident, audit, OWNER, now=later)
    assert mine.factor("sms").attempts == 0
    send(session, mine, gateway, code_key, audit, OWNER, now=later)
    assert sms(session, mine, gateway.last_code(), code_key, audit, OWNER, now=later).factor("sms").status == "passed"


def test_strangers_sends_do_not_starve_the_owners_first_code(session, make_incident, audit, gateway, code_key):
    """Issue 17 item 3: the account's 5 codes an hour never refuse a token's first code of the hour."""
    incident = make_incident()
    for number in range(5):  # five strangers' tokens, one code each: the account's hour is used up
        actor = f"reporter:stranger-{number}"
        send(session, start(session, incident, audit, actor, now=NOW), gateway, code_key, audit, actor)
    mine = start(session, incident, audit, OWNER, now=NOW + timedelta(minutes=1))
    send(session, mine, gateway, code_key, audit, OWNER, now=NOW + timedelta(minutes=1))
    assert len(gateway.sent) == 6


def test_an_sms_code_is_entered_only_by_the_token_that_asked_for_it(session, make_incident, audit, gateway, code_key):
    """ASVS 4.0.3 2.7.3: a code is bound to its request; another token finds no code of its own."""
    incident = make_incident()
    mine = start(session, incident, audit, OWNER)
    send(session, mine, gateway, code_key, audit, OWNER)
    with pytest.raises(Conflict):
        sms(session, mine, gateway.last_code(), code_key, audit, STRANGER)
    assert sms(session, mine, gateway.last_code(), code_key, audit, OWNER).factor("sms").status == "passed"
