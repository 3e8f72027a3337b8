"""Factor trust: a factor the attacker may have bound cannot unfreeze the account."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from verification.trust import SecurityEvent, assess_factor, assess_factors

SUSPICIOUS = datetime(2026, 11, 20, 3, 12, tzinfo=UTC)
NOW = SUSPICIOUS + timedelta(hours=5)


def _totp(bound_at, events=(), first=SUSPICIOUS):
    return assess_factor("totp", bound_at=bound_at, is_registered=True, first_suspicious_at=first,
                         events=events, trust_days=7, now=NOW)


def test_a_factor_bound_long_before_the_incident_is_trusted():
    """DESIGN.md flow 4: bound more than FACTOR_TRUST_DAYS before the first suspicious event."""
    verdict = _totp(SUSPICIOUS - timedelta(days=30))
    assert verdict.trusted and verdict.reason is None


def test_a_factor_bound_at_the_suspicious_event_is_untrusted():
    """DESIGN.md flow 4: 'at or after' the first suspicious event."""
    assert _totp(SUSPICIOUS).reason == "bound_after_suspicious_event"
    assert _totp(SUSPICIOUS + timedelta(minutes=1)).reason == "bound_after_suspicious_event"


def test_a_factor_bound_within_seven_days_before_is_untrusted():
    """DESIGN.md flow 4: within FACTOR_TRUST_DAYS before the event (boundary included)."""
    assert _totp(SUSPICIOUS - timedelta(days=7)).reason == "bound_within_trust_window"
    assert _totp(SUSPICIOUS - timedelta(days=7, seconds=1)).trusted


def test_trust_days_is_a_setting():
    """FACTOR_TRUST_DAYS is configuration."""
    verdict = assess_factor("totp", bound_at=SUSPICIOUS - timedelta(days=10), is_registered=True,
                            first_suspicious_at=SUSPICIOUS, events=(), trust_days=14, now=NOW)
    assert verdict.reason == "bound_within_trust_window"


def test_an_unknown_bind_time_is_untrusted():
    """63B-4 §4.3: erring to distrust beats trusting an authenticator of unknown history."""
    assert _totp(None).reason == "bound_at_unknown"


def test_without_a_suspicious_event_the_window_ends_now():
    """No suspicious time known: a factor bound in the last week is still untrusted."""
    assert _totp(NOW - timedelta(days=2), first=None).reason == "bound_within_trust_window"


def test_a_recent_phone_change_makes_sms_untrusted():
    """63B-3 §5.1.3.3, 63B-4 §3.1.3.3: a recently changed phone number disables SMS."""
    verdicts = assess_factors(
        factor_bound_at={"totp": SUSPICIOUS - timedelta(days=90), "sms": SUSPICIOUS - timedelta(days=90)},
        registered=["totp", "sms"], first_suspicious_at=SUSPICIOUS,
        events=[{"kind": "phone_changed", "at": "2026-11-19T10:00:00Z"}], now=NOW)
    assert verdicts["totp"].trusted
    assert not verdicts["sms"].trusted and verdicts["sms"].reason == "phone_changed"


def test_a_sim_swap_makes_sms_untrusted():
    """63B-4 §3.1.3.3 and ASVS 5.0.0 6.6.1: SIM swap."""
    verdict = assess_factor("sms", bound_at=SUSPICIOUS - timedelta(days=90), is_registered=True,
                            first_suspicious_at=SUSPICIOUS, now=NOW,
                            events=[SecurityEvent("sim_swap", SUSPICIOUS + timedelta(hours=1))], trust_days=7)
    assert verdict.reason == "sim_swap"


def test_an_old_phone_change_does_not_count():
    """Only changes inside the trust window matter."""
    verdict = assess_factor("sms", bound_at=SUSPICIOUS - timedelta(days=90), is_registered=True,
                            first_suspicious_at=SUSPICIOUS, now=NOW, trust_days=7,
                            events=[SecurityEvent("phone_changed", SUSPICIOUS - timedelta(days=60))])
    assert verdict.trusted


def test_a_two_factor_change_makes_totp_untrusted():
    """An attacker who rebound 2FA cannot unfreeze with it (DESIGN.md flow 4)."""
    verdict = _totp(SUSPICIOUS - timedelta(days=90),
                    events=[SecurityEvent("two_factor_changed", SUSPICIOUS + timedelta(minutes=5))])
    assert verdict.reason == "two_factor_changed"


def test_a_missing_factor_is_reported_as_not_registered():
    """SMS is never alone (63B-3 §5.1.3.3): a missing factor needs the manual review."""
    verdicts = assess_factors(factor_bound_at={"sms": SUSPICIOUS - timedelta(days=90)}, registered=["sms"],
                              first_suspicious_at=SUSPICIOUS, events=[], now=NOW)
    assert verdicts["totp"].reason == "not_registered"
    assert verdicts["sms"].trusted


def test_a_suspicious_time_in_the_future_is_judged_as_now():
    """Issue 17 item 1: a time after now cannot make a factor bound yesterday trusted."""
    verdict = _totp(NOW - timedelta(days=1), first=datetime(2099, 1, 1, tzinfo=UTC))
    assert verdict.reason == "bound_within_trust_window"


def test_trust_arithmetic_never_overflows_on_a_year_one_time():
    """Issue 17 item 2: year 1 (or any time before 2009) is judged as 2009-01-01, never an OverflowError."""
    verdict = _totp(SUSPICIOUS - timedelta(days=400), first=datetime(1, 1, 1, tzinfo=UTC))
    assert verdict.reason == "bound_after_suspicious_event"
    huge = assess_factor("totp", bound_at=SUSPICIOUS, is_registered=True, first_suspicious_at=SUSPICIOUS,
                         events=[SecurityEvent("two_factor_changed", datetime(1, 1, 1, tzinfo=UTC))],
                         trust_days=10 ** 9, now=NOW)
    assert not huge.trusted
