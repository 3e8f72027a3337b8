"""The project's own TOTP verifier: RFC vectors, drift window, replay memory, lockout."""
from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from verification.totp import (
    LOCK_DURATION,
    MAX_TOTAL_FAILURES,
    OtpParameters,
    OtpState,
    Outcome,
    code_at,
    is_well_formed,
    match_counter,
    reenable,
    time_step,
    verify_totp,
)

VECTORS = Path(__file__).parent / "vectors"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, as RFC 4226 R6 recommends
NOW = datetime(2026, 11, 21, 12, 0, 15, tzinfo=UTC)  # 15 s into its step


def _rows(name: str) -> list[dict[str, str]]:
    with open(VECTORS / name, newline="") as handle:
        return list(csv.DictReader(handle))


def _seeds() -> dict[str, str]:
    return {row["mode"]: row["seed_base32"] for row in _rows("rfc6238_seeds.csv")}


def _rfc6238_cases():
    seeds = _seeds()
    for row in _rows("rfc6238_totp.csv"):
        for mode in ("SHA1", "SHA256", "SHA512"):
            yield pytest.param(mode, seeds[mode], int(row["unix_time"]), int(row["T_hex"], 16), row[mode],
                               id=f"{mode}-{row['unix_time']}")


@pytest.mark.parametrize(("mode", "secret", "unix_time", "step", "code"), list(_rfc6238_cases()))
def test_rfc6238_appendix_b_vectors_pass_through_the_verifier(mode, secret, unix_time, step, code):
    """RFC 6238 Appendix B: 8 digits, 30 s, T0 = 0, SHA-1/256/512 seeds from Appendix A."""
    params = OtpParameters(algorithm=mode.lower(), digits=8)
    now = datetime.fromtimestamp(unix_time, UTC)
    assert time_step(now) == step
    result = verify_totp(secret, code, state=OtpState(), now=now, params=params)
    assert result.outcome is Outcome.ACCEPTED
    assert result.step == step
    assert result.state.last_step == step


@pytest.mark.parametrize("row", _rows("rfc4226_hotp.csv"), ids=lambda row: f"count-{row['count']}")
def test_rfc4226_appendix_d_vectors_pass_through_the_verifier(row):
    """RFC 4226 Appendix D: HOTP of secret '12345678901234567890' for counters 0..9."""
    secret = _seeds()["SHA1"]
    count = int(row["count"])
    assert int(row["truncated_decimal"]) % 10**6 == int(row["hotp"])
    assert code_at(secret, count) == row["hotp"]
    assert match_counter(secret, row["hotp"], range(0, 10)) == count


def test_a_wrong_hash_algorithm_does_not_match_the_rfc_vector():
    """The algorithm parameter is really used: the SHA-1 code is not the SHA-256 code."""
    seeds = _seeds()
    now = datetime.fromtimestamp(59, UTC)
    result = verify_totp(seeds["SHA256"], "94287082", state=OtpState(), now=now,
                         params=OtpParameters(algorithm="sha256", digits=8))
    assert result.outcome is Outcome.WRONG


def _code(offset: int = 0, now: datetime = NOW) -> str:
    return pyotp.TOTP(SECRET).at(now, counter_offset=offset)


def test_the_current_code_is_accepted_and_its_step_remembered():
    """RFC 6238 §5.2: the verifier stores the step it accepted."""
    result = verify_totp(SECRET, _code(), state=OtpState(), now=NOW)
    assert result.is_accepted
    assert result.state.last_step == time_step(NOW)


def test_the_same_code_twice_is_refused_the_second_time():
    """63B-3 §5.1.4.2, 63B-4 §3.1.4.2, ASVS 4.0.3 2.8.4: a TOTP is accepted once while valid."""
    first = verify_totp(SECRET, _code(), state=OtpState(), now=NOW)
    second = verify_totp(SECRET, _code(), state=first.state, now=NOW + timedelta(seconds=5))
    assert first.is_accepted
    assert second.outcome is Outcome.REUSED
    assert second.is_reuse, "ASVS 4.0.3 2.8.5: reuse is flagged so the holder can be told"
    assert second.state == first.state


def test_one_step_of_drift_is_accepted_on_each_side_once():
    """RFC 6238 §5.2: at most one step of drift for network delay."""
    earlier = verify_totp(SECRET, _code(-1), state=OtpState(), now=NOW)
    assert earlier.is_accepted and earlier.step == time_step(NOW) - 1
    again = verify_totp(SECRET, _code(-1), state=earlier.state, now=NOW)
    assert again.outcome is Outcome.REUSED
    later = verify_totp(SECRET, _code(+1), state=OtpState(), now=NOW)
    assert later.is_accepted and later.step == time_step(NOW) + 1


@pytest.mark.parametrize("offset", [-2, +2])
def test_codes_two_steps_away_are_refused(offset):
    """RFC 6238 §5.2: T-2 and T+2 are outside the ±1 step window."""
    result = verify_totp(SECRET, _code(offset), state=OtpState(), now=NOW)
    assert result.outcome is Outcome.WRONG


def test_the_previous_step_code_is_refused_after_the_current_step_was_accepted():
    """RFC 6238 §5.2: a step at or before the last accepted step is never accepted."""
    current = verify_totp(SECRET, _code(0), state=OtpState(), now=NOW)
    older = verify_totp(SECRET, _code(-1), state=current.state, now=NOW)
    assert current.is_accepted
    assert older.outcome is Outcome.REUSED


def test_the_next_step_code_is_refused_once_it_has_been_accepted_early():
    """After T+1 was accepted, T's code (and T+1's again) are refused as reuse."""
    ahead = verify_totp(SECRET, _code(+1), state=OtpState(), now=NOW)
    assert verify_totp(SECRET, _code(0), state=ahead.state, now=NOW).outcome is Outcome.REUSED
    next_step = NOW + timedelta(seconds=30)
    assert verify_totp(SECRET, _code(0, next_step), state=ahead.state, now=next_step).is_reuse


@pytest.mark.parametrize("code", [
    "１２３４５６",  # full-width digits: pyotp would normalise them to ASCII (NFKC)
    "١٢٣٤٥٦",  # Arabic-Indic digits
    "12345", "1234567", " 123456", "123456\n", "12 3456", "abcdef", "",
])
def test_anything_but_exactly_six_ascii_digits_is_refused(code):
    """API.md: codes are exactly six ASCII digits; pyotp's NFKC normalisation is never reached."""
    assert not is_well_formed(code)


def test_the_full_width_form_of_the_right_code_is_refused():
    """SECURITY.md pyotp trap: full-width digits would pass pyotp's own verify()."""
    right = _code()
    full_width = "".join(chr(ord("０") + int(digit)) for digit in right)
    assert pyotp.TOTP(SECRET).verify(full_width, for_time=NOW), "the trap this test guards against"
    assert verify_totp(SECRET, full_width, state=OtpState(), now=NOW).outcome is Outcome.WRONG


def test_server_time_must_be_an_aware_datetime():
    """ASVS 5.0.0 6.5.8 and SECURITY.md: a naive datetime on a non-UTC server gives false rejects."""
    with pytest.raises(ValueError):
        verify_totp(SECRET, _code(), state=OtpState(), now=NOW.replace(tzinfo=None))


def test_an_aware_non_utc_time_gives_the_same_step():
    """Server time in another zone is the same instant, so the same step."""
    from zoneinfo import ZoneInfo
    shanghai = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    assert time_step(shanghai) == time_step(NOW)
    assert verify_totp(SECRET, _code(), state=OtpState(), now=shanghai).is_accepted


def _fail(state: OtpState, now: datetime, times: int):
    result = None
    for _ in range(times):
        result = verify_totp(SECRET, "000000" if _code(0, now) != "000000" else "111111", state=state, now=now)
        state = result.state
    return result


def test_five_wrong_codes_then_the_right_code_is_refused():
    """63B-3 §5.2.2: 5 wrong codes lock the factor 15 minutes; the right code gets the same answer."""
    fifth = _fail(OtpState(), NOW, 5)
    assert fifth.outcome is Outcome.WRONG and fifth.has_just_locked
    assert fifth.state.locked_until == NOW + LOCK_DURATION
    right = verify_totp(SECRET, _code(), state=fifth.state, now=NOW + timedelta(seconds=1))
    wrong = verify_totp(SECRET, "000001", state=fifth.state, now=NOW + timedelta(seconds=1))
    assert right.outcome is Outcome.LOCKED and wrong.outcome is Outcome.LOCKED
    assert right.retry_after(NOW + timedelta(seconds=1)) == 15 * 60 - 1


def test_four_wrong_codes_leave_one_attempt():
    """The count is visible so the owner knows how many tries remain."""
    fourth = _fail(OtpState(), NOW, 4)
    assert fourth.remaining_attempts == 1
    assert fourth.state.locked_until is None


def test_the_lock_lifts_after_fifteen_minutes():
    """63B-3 §5.2.2: the lock is timed; the right code works when it ends."""
    locked = _fail(OtpState(), NOW, 5).state
    later = NOW + LOCK_DURATION
    result = verify_totp(SECRET, _code(0, later), state=locked, now=later)
    assert result.is_accepted
    assert result.state.failed_attempts == 0 and result.state.locked_until is None


def test_one_hundred_failures_without_a_success_disable_the_factor_until_reenabled():
    """63B-3 §5.2.2, RFC 4226 §7.3: at most 100 consecutive failures, across lockouts."""
    state, now = OtpState(), NOW
    for _ in range(MAX_TOTAL_FAILURES // 5):
        result = _fail(state, now, 5)
        state, now = result.state, now + LOCK_DURATION
    assert result.has_just_disabled and state.disabled and state.total_failures == 100
    later = now + timedelta(days=1)
    refused = verify_totp(SECRET, _code(0, later), state=state, now=later)
    assert refused.outcome is Outcome.DISABLED and refused.retry_after(later) is None
    assert verify_totp(SECRET, _code(0, later), state=reenable(state), now=later).is_accepted


def test_a_success_resets_the_consecutive_failure_count():
    """63B-4 §3.2.2 counts consecutive failures: a success starts again from zero."""
    state = _fail(OtpState(), NOW, 3).state
    accepted = verify_totp(SECRET, _code(), state=state, now=NOW)
    assert accepted.state.failed_attempts == 0 and accepted.state.total_failures == 0


def test_reenabling_keeps_the_replay_memory():
    """Staff re-enable a factor without making old codes valid again."""
    accepted = verify_totp(SECRET, _code(), state=OtpState(), now=NOW)
    restored = reenable(OtpState(last_step=accepted.state.last_step, disabled=True, total_failures=100))
    assert verify_totp(SECRET, _code(), state=restored, now=NOW).outcome is Outcome.REUSED


def test_the_short_lock_belongs_to_the_guesser_and_the_ceiling_to_the_account():
    """Issue 17 item 3 (pure rules): the guesser's fifth wrong code locks the guesser; the account counts on."""
    from verification.lockout import UNPROVEN_CEILING, verify_scoped
    from verification.totp import OtpState, Outcome

    now = datetime(2026, 11, 21, 12, 0, 15, tzinfo=UTC)
    wrong = "000000" if pyotp.TOTP(SECRET).at(now) != "000000" else "111111"
    verdict = verify_scoped(SECRET, wrong, account=OtpState(total_failures=10), guesser=OtpState(failed_attempts=4),
                            proven=False, now=now)
    assert verdict.result.outcome is Outcome.WRONG and verdict.guesser.locked_until is not None
    assert verdict.account.total_failures == 11 and verdict.account.locked_until is None
    closed = verify_scoped(SECRET, pyotp.TOTP(SECRET).at(now), account=OtpState(total_failures=UNPROVEN_CEILING),
                           guesser=OtpState(), proven=False, now=now)
    assert closed.result.outcome is Outcome.CLOSED
    proven = verify_scoped(SECRET, pyotp.TOTP(SECRET).at(now), account=OtpState(total_failures=UNPROVEN_CEILING),
                           guesser=OtpState(), proven=True, now=now)
    assert proven.result.is_accepted and proven.account.total_failures == 0
