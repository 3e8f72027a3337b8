"""Verification use cases on a migrated database (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from kernel.errors import Conflict, RateLimited
from verification import service
from verification.errors import CodeAlreadyUsed, CodeExpired, TooManyAttempts, WrongCode
from verification.models import OtpFactor, SmsCode, TotpThrottle, Verification
from verification.sms import SmsDeliveryFailed

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PHONE = "+15555550001"
NOW = datetime(2026, 11, 21, 12, 0, 15, tzinfo=UTC)
SUSPICIOUS = NOW - timedelta(hours=6)
LONG_AGO = NOW - timedelta(days=200)


def totp(at: datetime, offset: int = 0) -> str:
    return pyotp.TOTP(SECRET).at(at, counter_offset=offset)


def start(session, incident, audit, *, bound_at=None, events=(), phone=PHONE, secret=SECRET, now=NOW,
          language="en"):
    return service.start_verification(
        session, incident_id=incident.id, account_id=incident.account_id, totp_secret=secret, phone=phone,
        factor_bound_at=bound_at or {"totp": LONG_AGO, "sms": LONG_AGO}, first_suspicious_at=SUSPICIOUS,
        recent_security_events=list(events), language=language, anti_phishing_code="BLUEFOX", audit=audit,
        now=now)


def check_totp(session, verification, code, audit, now=NOW):
    return service.check_totp(session, verification_id=verification.id, code=code, totp_secret=SECRET,
                              audit=audit, now=now)


def send(session, verification, gateway, code_key, audit, now=NOW):
    return service.send_sms_code(session, verification_id=verification.id, gateway=gateway, code_key=code_key,
                                 audit=audit, now=now)


def check_sms(session, verification, code, code_key, audit, now=NOW):
    return service.check_sms_code(session, verification_id=verification.id, code=code, code_key=code_key,
                                  audit=audit, now=now)


def prove_phone(session, verification, gateway, code_key, audit, now=NOW):
    """Enter a right SMS code on the verification (the token then holds the registered phone)."""
    send(session, verification, gateway, code_key, audit, now=now)
    check_sms(session, verification, gateway.last_code(), code_key, audit, now=now)


# --- starting ---------------------------------------------------------------------------------

def test_a_verification_with_trusted_factors_starts_pending(session, make_incident, audit):
    """API.md: 201 with both factors pending and trusted, the phone masked."""
    verification = start(session, make_incident(), audit)
    assert verification.status == "pending" and not verification.manual_review_required
    assert verification.expires_at == NOW + timedelta(minutes=30)
    assert [(f.kind, f.status, f.trusted) for f in verification.factors] == [
        ("totp", "pending", True), ("sms", "pending", True)]
    assert verification.factor("sms").destination == "+1*****0001"
    assert audit.actions() == ["verification.started"]


def test_a_rebound_authenticator_sends_the_verification_to_manual_review(session, make_incident, audit):
    """DESIGN.md flow 4: a factor bound after the suspicious event cannot unfreeze; a review must."""
    verification = start(session, make_incident(), audit,
                         bound_at={"totp": SUSPICIOUS + timedelta(minutes=5), "sms": LONG_AGO})
    assert verification.status == "manual_review" and verification.manual_review_required
    assert verification.factor("totp").trust_reason == "bound_after_suspicious_event"


def test_a_sim_swap_makes_the_sms_factor_untrusted(session, make_incident, audit):
    """63B-4 §3.1.3.3: SIM swap disables SMS as proof."""
    verification = start(session, make_incident(), audit,
                         events=[{"kind": "sim_swap", "at": (SUSPICIOUS - timedelta(days=1)).isoformat()}])
    check = verification.factor("sms")
    assert not check.trusted and check.trust_reason == "sim_swap"
    assert verification.manual_review_required


def test_passed_trusted_factors_pass_the_verification(session, make_incident, audit, gateway, code_key):
    """DESIGN.md flow 4: every required factor must pass."""
    verification = start(session, make_incident(), audit)
    check_totp(session, verification, totp(NOW), audit)
    assert verification.status == "pending", "TOTP alone is not enough"
    send(session, verification, gateway, code_key, audit)
    result = check_sms(session, verification, gateway.last_code(), code_key, audit, now=NOW + timedelta(minutes=1))
    assert result.status == "passed" and result.passed_at == NOW + timedelta(minutes=1)
    assert "verification.passed" in audit.actions()


def test_sms_alone_never_passes_a_verification(session, make_incident, audit, gateway, code_key):
    """63B-3 §5.1.3.3: SMS is restricted, never alone; no TOTP means a manual review."""
    verification = start(session, make_incident(), audit, secret=None)
    assert verification.manual_review_required and [f.kind for f in verification.factors] == ["sms"]
    send(session, verification, gateway, code_key, audit)
    result = check_sms(session, verification, gateway.last_code(), code_key, audit)
    assert result.status == "manual_review"


@pytest.mark.parametrize("secret", ["", "NOT-BASE32!", "JBSWY3DP"])
def test_an_unusable_totp_secret_counts_as_no_authenticator(session, make_incident, audit, secret):
    """RFC 4226 R6 (128 bits; pyotp refuses under 112): a garbled or short secret proves nothing."""
    verification = start(session, make_incident(), audit, secret=secret)
    assert [f.kind for f in verification.factors] == ["sms"] and verification.manual_review_required


def test_a_new_verification_supersedes_the_pending_one(session, make_incident, audit):
    """One live verification per incident."""
    incident = make_incident()
    first = start(session, incident, audit)
    start(session, incident, audit, now=NOW + timedelta(minutes=1))
    session.refresh(first)
    assert first.status == "expired"


# --- TOTP -------------------------------------------------------------------------------------

def test_the_same_totp_code_twice_is_refused_and_the_holder_flagged(session, make_incident, audit):
    """63B-3 §5.1.4.2, ASVS 4.0.3 2.8.4 (once only) and 2.8.5 (reuse logged, holder told)."""
    verification = start(session, make_incident(), audit)
    assert check_totp(session, verification, totp(NOW), audit).factor("totp").status == "passed"
    with pytest.raises(CodeAlreadyUsed) as caught:
        check_totp(session, verification, totp(NOW), audit, now=NOW + timedelta(seconds=3))
    assert caught.value.notify_holder and caught.value.status == 422 and caught.value.slug == "code-already-used"
    assert "verification.code_reused" in audit.actions()


def test_the_previous_step_is_refused_after_the_current_one(session, make_incident, audit):
    """RFC 6238 §5.2: the T-1 code after T was accepted is refused."""
    verification = start(session, make_incident(), audit)
    check_totp(session, verification, totp(NOW), audit)
    with pytest.raises(CodeAlreadyUsed):
        check_totp(session, verification, totp(NOW, -1), audit)


@pytest.mark.parametrize("offset", [-2, +2])
def test_steps_outside_the_drift_window_are_wrong(session, make_incident, audit, offset):
    """RFC 6238 §5.2: ±1 step only."""
    verification = start(session, make_incident(), audit)
    with pytest.raises(WrongCode) as caught:
        check_totp(session, verification, totp(NOW, offset), audit)
    assert caught.value.extra == {"remaining_attempts": 4}


def test_a_totp_code_accepted_for_one_verification_is_refused_for_another(session, make_incident, audit):
    """Replay memory belongs to the authenticator, not to a verification (RFC 6238 §5.2)."""
    incident = make_incident()
    first = start(session, incident, audit)
    check_totp(session, first, totp(NOW), audit)
    second = start(session, incident, audit, now=NOW + timedelta(seconds=5))
    with pytest.raises(CodeAlreadyUsed):
        check_totp(session, second, totp(NOW), audit, now=NOW + timedelta(seconds=6))


def test_five_wrong_totp_codes_then_the_right_one_is_refused(session, sessions, make_incident, audit):
    """63B-3 §5.2.2: lock after 5; while locked the right code is refused like a wrong one (429)."""
    verification = start(session, make_incident(), audit)
    wrong = "000000" if totp(NOW) != "000000" else "111111"
    for attempt in range(4):
        with pytest.raises(WrongCode) as caught:
            check_totp(session, verification, wrong, audit)
        assert caught.value.extra["remaining_attempts"] == 4 - attempt
    with pytest.raises(TooManyAttempts) as fifth:
        check_totp(session, verification, wrong, audit)
    with pytest.raises(TooManyAttempts) as right:
        check_totp(session, verification, totp(NOW), audit, now=NOW + timedelta(seconds=10))
    assert fifth.value.slug == right.value.slug == "too-many-attempts" and right.value.status == 429
    assert right.value.extra["retry_after"] == 15 * 60 - 10
    assert "verification.factor_locked" in audit.actions()
    with sessions() as fresh:  # the counters were committed before the errors were raised
        throttle = fresh.scalar(select(TotpThrottle).where(TotpThrottle.account_id == verification.account_id))
        assert throttle.actor == "reporter"
        assert throttle.failed_attempts == 5 and throttle.locked_until == NOW + timedelta(minutes=15)
        factor = fresh.scalar(select(OtpFactor).where(OtpFactor.owner_id == verification.account_id))
        assert factor.total_failures == 5 and factor.locked_until is None
        assert fresh.get(Verification, verification.id).factor("totp").status == "locked"


def test_the_totp_lock_holds_across_the_tokens_verifications(session, make_incident, audit):
    """63B-3 §5.2.2: lockouts hold across sessions, so a new verification by the same token does not reset them."""
    incident = make_incident()
    first = start(session, incident, audit)
    for _ in range(5):
        with pytest.raises((WrongCode, TooManyAttempts)):
            check_totp(session, first, "999999" if totp(NOW) != "999999" else "111111", audit)
    second = start(session, incident, audit, now=NOW + timedelta(minutes=1))
    with pytest.raises(TooManyAttempts):
        check_totp(session, second, totp(NOW + timedelta(minutes=1)), audit, now=NOW + timedelta(minutes=1))


def test_a_disabled_factor_needs_staff_to_reenable_it(session, make_incident, audit, gateway, code_key):
    """63B-3 §5.2.2: 100 failures disable the factor until staff re-enable it."""
    incident = make_incident()
    factor = OtpFactor(owner_kind="account", owner_id=incident.account_id, total_failures=99,
                       failed_attempts=0, created_at=NOW, updated_at=NOW)
    session.add(factor)
    session.commit()
    verification = start(session, incident, audit)
    prove_phone(session, verification, gateway, code_key, audit)
    with pytest.raises(TooManyAttempts) as caught:
        check_totp(session, verification, "000000" if totp(NOW) != "000000" else "111111", audit)
    assert caught.value.extra["retry_after"] is None
    assert "verification.factor_disabled" in audit.actions()
    with pytest.raises(TooManyAttempts):  # disabled: the right code is refused too, whoever enters it
        check_totp(session, verification, totp(NOW), audit)
    later = NOW + timedelta(hours=2)
    service.reenable_factor(session, owner_kind="account", owner_id=incident.account_id, actor="staff:admin",
                            audit=audit, now=later)
    fresh = start(session, incident, audit, now=later)
    assert check_totp(session, fresh, totp(later), audit, now=later).factor("totp").status == "passed"


def test_every_totp_attempt_is_audited_without_the_code(session, make_incident, audit):
    """ASVS 4.0.3 7.1.1: who, what, outcome, never the code."""
    verification = start(session, make_incident(), audit)
    code = totp(NOW)
    with pytest.raises(WrongCode):
        check_totp(session, verification, "000000" if code != "000000" else "111111", audit)
    check_totp(session, verification, code, audit)
    checks = [event for event in audit.events if event["action"] == "verification.totp_checked"]
    assert [event["data"]["outcome"] for event in checks] == ["wrong", "accepted"]
    assert all(event["incident_id"] == verification.incident_id for event in checks)
    assert code not in repr(audit.events) and SECRET not in repr(audit.events)


# --- SMS --------------------------------------------------------------------------------------

def test_the_sms_text_carries_the_code_and_anti_phishing_code_in_the_owner_language(
        session, make_incident, audit, gateway, code_key):
    """DESIGN.md flow 7: in their language, with their anti-phishing code."""
    verification = start(session, make_incident(), audit, language="zh-CN")
    assert send(session, verification, gateway, code_key, audit).resend_after == 60
    to, body = gateway.sent[0]
    assert to == PHONE and "BLUEFOX" in body and "验证码" in body


def test_an_sms_code_at_nine_fifty_nine_is_accepted(session, make_incident, audit, gateway, code_key):
    """ASVS 4.0.3 2.7.2: valid 10 minutes."""
    verification = start(session, make_incident(), audit)
    send(session, verification, gateway, code_key, audit)
    result = check_sms(session, verification, gateway.last_code(), code_key, audit,
                       now=NOW + timedelta(minutes=9, seconds=59))
    assert result.factor("sms").status == "passed"


def test_an_sms_code_at_ten_oh_one_is_expired(session, make_incident, audit, gateway, code_key):
    """ASVS 4.0.3 2.7.2: after 10 minutes the right code answers 410 code-expired."""
    verification = start(session, make_incident(), audit)
    send(session, verification, gateway, code_key, audit)
    with pytest.raises(CodeExpired) as caught:
        check_sms(session, verification, gateway.last_code(), code_key, audit,
                  now=NOW + timedelta(minutes=10, seconds=1))
    assert caught.value.status == 410 and caught.value.slug == "code-expired"


def test_an_sms_code_is_single_use(session, make_incident, audit, gateway, code_key):
    """ASVS 4.0.3 2.7.3: the second use of a code is refused."""
    verification = start(session, make_incident(), audit)
    send(session, verification, gateway, code_key, audit)
    code = gateway.last_code()
    check_sms(session, verification, code, code_key, audit)
    with pytest.raises(CodeAlreadyUsed):
        check_sms(session, verification, code, code_key, audit, now=NOW + timedelta(seconds=5))


def test_a_code_from_one_verification_is_refused_on_another(session, make_incident, audit, gateway, code_key):
    """ASVS 4.0.3 2.7.3: a code is bound to its verification."""
    first = start(session, make_incident(), audit)
    second = start(session, make_incident(), audit)
    send(session, first, gateway, code_key, audit)
    code_of_first = gateway.last_code()
    send(session, second, gateway, code_key, audit)
    if gateway.last_code() == code_of_first:
        pytest.skip("both random codes happened to be equal")
    with pytest.raises(WrongCode):
        check_sms(session, second, code_of_first, code_key, audit)
    assert check_sms(session, first, code_of_first, code_key, audit).factor("sms").status == "passed"


def test_five_wrong_sms_tries_burn_the_code(session, sessions, make_incident, audit, gateway, code_key):
    """DESIGN.md §6: 5 wrong tries burn it; then even the right code is refused (429)."""
    verification = start(session, make_incident(), audit)
    send(session, verification, gateway, code_key, audit)
    right = gateway.last_code()
    wrong = "000000" if right != "000000" else "111111"
    for remaining in (4, 3, 2, 1):
        with pytest.raises(WrongCode) as caught:
            check_sms(session, verification, wrong, code_key, audit)
        assert caught.value.extra == {"remaining_attempts": remaining}
    with pytest.raises(TooManyAttempts):
        check_sms(session, verification, wrong, code_key, audit)
    with pytest.raises(TooManyAttempts):
        check_sms(session, verification, right, code_key, audit)
    with sessions() as fresh:
        row = fresh.scalar(select(SmsCode).where(SmsCode.verification_id == verification.id))
        assert row.attempts == 5 and row.burned_at == NOW and row.used_at is None
    assert "verification.sms_code_burned" in audit.actions()


def test_a_new_sms_code_does_not_reset_the_failure_count(session, make_incident, audit, gateway, code_key):
    """63B-4 §3.1.3.2: three wrong, a new code, two more wrong: burned."""
    verification = start(session, make_incident(), audit)
    send(session, verification, gateway, code_key, audit)
    for _ in range(3):
        with pytest.raises(WrongCode):
            check_sms(session, verification, "000000" if gateway.last_code() != "000000" else "1" * 6, code_key, audit)
    later = NOW + timedelta(seconds=60)
    send(session, verification, gateway, code_key, audit, now=later)
    wrong = "000000" if gateway.last_code() != "000000" else "111111"
    with pytest.raises(WrongCode) as caught:
        check_sms(session, verification, wrong, code_key, audit, now=later)
    assert caught.value.extra == {"remaining_attempts": 1}
    with pytest.raises(TooManyAttempts):
        check_sms(session, verification, wrong, code_key, audit, now=later)
    with pytest.raises(TooManyAttempts):
        send(session, verification, gateway, code_key, audit, now=later + timedelta(minutes=2))


def test_starting_over_does_not_reset_the_sms_failure_count(session, make_incident, audit, gateway, code_key):
    """63B-4 §3.1.3.2: a new verification within the hour inherits the wrong SMS tries."""
    incident = make_incident()
    first = start(session, incident, audit)
    send(session, first, gateway, code_key, audit)
    for _ in range(5):
        with pytest.raises((WrongCode, TooManyAttempts)):
            check_sms(session, first, "000000" if gateway.last_code() != "000000" else "1" * 6, code_key, audit)
    second = start(session, incident, audit, now=NOW + timedelta(minutes=2))
    assert second.factor("sms").attempts == 5
    with pytest.raises(TooManyAttempts):
        send(session, second, gateway, code_key, audit, now=NOW + timedelta(minutes=2))


def test_a_resend_waits_sixty_seconds(session, make_incident, audit, gateway, code_key):
    """DESIGN.md §6: resend after 60 s; 429 rate-limited with retry_after."""
    verification = start(session, make_incident(), audit)
    send(session, verification, gateway, code_key, audit)
    with pytest.raises(RateLimited) as caught:
        send(session, verification, gateway, code_key, audit, now=NOW + timedelta(seconds=45))
    assert caught.value.extra == {"retry_after": 15}
    send(session, verification, gateway, code_key, audit, now=NOW + timedelta(seconds=60))
    assert len(gateway.sent) == 2


def test_at_most_three_codes_per_hour_per_token(session, make_incident, audit, gateway, code_key):
    """Issue 17 item 3: a token's own quota, across its verifications."""
    incident = make_incident()
    verification = start(session, incident, audit)
    for minute in range(3):
        send(session, verification, gateway, code_key, audit, now=NOW + timedelta(minutes=minute))
    other = start(session, incident, audit, now=NOW + timedelta(minutes=6))
    with pytest.raises(RateLimited) as caught:
        send(session, other, gateway, code_key, audit, now=NOW + timedelta(minutes=6))
    assert caught.value.extra == {"retry_after": 54 * 60}


def test_the_code_hash_is_committed_before_the_text_is_sent(sessions, make_incident, audit, code_key):
    """STYLE.md: no network call while a transaction is open; the code exists before it is sent."""
    seen = []

    class WatchingGateway:
        def send(self, *, to, body):
            seen.append(session.in_transaction())
            with sessions() as other:
                seen.append(other.scalar(select(SmsCode.id).where(SmsCode.verification_id == verification.id)))
            from verification.sms import SmsReceipt
            return SmsReceipt(gateway="watching")

    with sessions() as session:
        verification = start(session, make_incident(), audit)
        send(session, verification, WatchingGateway(), code_key, audit)
    assert seen[0] is False and seen[1] is not None


def test_a_failed_send_burns_the_stored_code(session, make_incident, audit, code_key):
    """A code the gateway refused can never be used, even if delivered late."""

    class RefusingGateway:
        def send(self, *, to, body):
            raise SmsDeliveryFailed("gateway down")

    verification = start(session, make_incident(), audit)
    with pytest.raises(SmsDeliveryFailed):
        send(session, verification, RefusingGateway(), code_key, audit)
    row = session.scalar(select(SmsCode).where(SmsCode.verification_id == verification.id))
    assert row.burned_at == NOW
    assert "verification.sms_delivery_failed" in audit.actions()


def test_a_lapsed_verification_expires(session, make_incident, audit):
    """A verification lives 30 minutes; after that checks answer 410 and it is marked expired."""
    verification = start(session, make_incident(), audit)
    with pytest.raises(CodeExpired):
        check_totp(session, verification, totp(NOW + timedelta(minutes=31)), audit, now=NOW + timedelta(minutes=31))
    session.refresh(verification)
    assert verification.status == "expired"


# --- manual review ----------------------------------------------------------------------------

def test_an_officer_approves_a_manual_review(session, make_incident, audit):
    """DESIGN.md flow 4: manual identity review attested by a risk officer."""
    verification = start(session, make_incident(), audit, bound_at={"totp": NOW - timedelta(days=1), "sms": LONG_AGO})
    result = service.decide_manual_review(session, verification_id=verification.id, officer_id="officer-7",
                                          decision="approve", evidence="passport + selfie match (KYC-991)",
                                          audit=audit, now=NOW + timedelta(hours=3))
    assert result.status == "passed" and result.reviewed_by == "officer-7"
    assert result.review_evidence == "passport + selfie match (KYC-991)"
    assert audit.events[-1]["actor"] == "staff:officer-7" and audit.events[-1]["action"] == "verification.passed"


def test_an_officer_rejects_a_manual_review(session, make_incident, audit):
    verification = start(session, make_incident(), audit, bound_at={"totp": None, "sms": LONG_AGO})
    result = service.decide_manual_review(session, verification_id=verification.id, officer_id="officer-7",
                                          decision="reject", evidence="documents do not match", audit=audit, now=NOW)
    assert result.status == "failed"


def test_a_verification_without_untrusted_factors_cannot_be_reviewed_manually(session, make_incident, audit):
    """Manual review replaces untrusted factors only; it is not a bypass."""
    verification = start(session, make_incident(), audit)
    with pytest.raises(Conflict):
        service.decide_manual_review(session, verification_id=verification.id, officer_id="officer-7",
                                     decision="approve", evidence="x", audit=audit, now=NOW)


# --- staff step-up ----------------------------------------------------------------------------

def test_staff_totp_enrolment_and_step_up(session, audit):
    """63B-3 §4.2.3: the officer's own current code, same replay rules as owners."""
    enrolment = service.enrol_staff_totp(session, staff_id="staff-1", label="officer-1@lockdesk")
    assert enrolment.otpauth_uri.startswith("otpauth://totp/") and "issuer=Lockdesk" in enrolment.otpauth_uri
    assert len(enrolment.secret) == 32  # 160 bits (RFC 4226 R6)
    code = pyotp.TOTP(enrolment.secret).at(NOW)
    service.check_staff_totp(session, staff_id="staff-1", code=code, audit=audit, now=NOW)
    with pytest.raises(CodeAlreadyUsed):
        service.check_staff_totp(session, staff_id="staff-1", code=code, audit=audit, now=NOW)


def test_staff_totp_locks_after_five_wrong_codes(session, audit):
    """63B-3 §5.2.2: the same lock rule for staff."""
    enrolment = service.enrol_staff_totp(session, staff_id="staff-2")
    right = pyotp.TOTP(enrolment.secret).at(NOW)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(WrongCode):
            service.check_staff_totp(session, staff_id="staff-2", code=wrong, audit=audit, now=NOW)
    with pytest.raises(TooManyAttempts):
        service.check_staff_totp(session, staff_id="staff-2", code=wrong, audit=audit, now=NOW)
    with pytest.raises(TooManyAttempts):
        service.check_staff_totp(session, staff_id="staff-2", code=right, audit=audit, now=NOW)


def test_staff_without_an_authenticator_cannot_step_up(session, audit):
    from verification.errors import TotpNotEnrolled
    with pytest.raises(TotpNotEnrolled):
        service.check_staff_totp(session, staff_id="nobody", code="123456", audit=audit, now=NOW)
