"""SMS one-time code rules: random, hashed, bound to their verification, short-lived, limited."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from verification.codes import (
    CODE_LIFETIME,
    MAX_WRONG_TRIES,
    CodeOutcome,
    CodeState,
    check_code,
    derive_code_key,
    generate_code,
    hash_code,
    may_send,
)

KEY = derive_code_key("test-secret-key")
VERIFICATION = uuid.UUID("00000000-0000-4000-8000-000000000001")
ISSUED = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _state(code: str = "123456", **changes) -> CodeState:
    values = {"code_hash": hash_code(KEY, verification_id=VERIFICATION, code=code),
              "expires_at": ISSUED + CODE_LIFETIME} | changes
    return CodeState(**values)


def test_codes_are_six_ascii_digits_and_vary():
    """63B-4 §3.1.3.2, ASVS 4.0.3 2.7.6: at least 6 random digits from a CSPRNG."""
    drawn = {generate_code() for _ in range(200)}
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in drawn)
    assert len(drawn) > 190


def test_the_hash_is_keyed_and_bound_to_the_verification():
    """ASVS 4.0.3 2.7.5/2.7.3: stored hashed, bound to the request it was sent for."""
    digest = hash_code(KEY, verification_id=VERIFICATION, code="123456")
    assert len(digest) == 64 and "123456" not in digest
    assert digest != hash_code(KEY, verification_id=uuid.uuid4(), code="123456")
    assert digest != hash_code(derive_code_key("other-key"), verification_id=VERIFICATION, code="123456")


def test_a_code_at_nine_minutes_fifty_nine_is_accepted():
    """63B-4 §3.1.3.2, ASVS 4.0.3 2.7.2: valid 10 minutes."""
    result = check_code(KEY, verification_id=VERIFICATION, code="123456", state=_state(),
                        now=ISSUED + timedelta(minutes=9, seconds=59))
    assert result.outcome is CodeOutcome.ACCEPTED and result.used_at is not None


def test_a_code_at_ten_minutes_one_second_is_expired():
    """ASVS 4.0.3 2.7.2: a right code past 10 minutes is refused as expired, not counted as wrong."""
    result = check_code(KEY, verification_id=VERIFICATION, code="123456", state=_state(),
                        now=ISSUED + timedelta(minutes=10, seconds=1))
    assert result.outcome is CodeOutcome.EXPIRED and result.failures == 0


def test_a_used_code_is_refused():
    """ASVS 4.0.3 2.7.3: single use."""
    result = check_code(KEY, verification_id=VERIFICATION, code="123456",
                        state=_state(used_at=ISSUED + timedelta(seconds=30)), now=ISSUED + timedelta(minutes=1))
    assert result.outcome is CodeOutcome.USED


def test_a_code_from_another_verification_is_wrong():
    """ASVS 4.0.3 2.7.3: bound to its request; the same digits prove nothing elsewhere."""
    other = _state(code_hash=hash_code(KEY, verification_id=uuid.uuid4(), code="123456"))
    result = check_code(KEY, verification_id=VERIFICATION, code="123456", state=other, now=ISSUED)
    assert result.outcome is CodeOutcome.WRONG


def test_five_wrong_tries_burn_the_code_and_then_the_right_code_is_refused():
    """DESIGN.md §6: 5 wrong tries burn the code."""
    state = _state()
    for attempt in range(1, MAX_WRONG_TRIES + 1):
        result = check_code(KEY, verification_id=VERIFICATION, code="654321", state=state, now=ISSUED)
        assert result.outcome is CodeOutcome.WRONG and result.failures == attempt
        state = _state(failures=result.failures, burned_at=result.burned_at)
    assert result.remaining_attempts == 0 and result.burned_at == ISSUED
    right = check_code(KEY, verification_id=VERIFICATION, code="123456", state=state, now=ISSUED)
    assert right.outcome is CodeOutcome.BURNED


def test_a_new_code_inherits_the_failure_count():
    """63B-4 §3.1.3.2: a new out-of-band code does not reset the failure count."""
    fresh_code_with_history = _state(code="111111", failures=MAX_WRONG_TRIES)
    result = check_code(KEY, verification_id=VERIFICATION, code="111111", state=fresh_code_with_history,
                        now=ISSUED)
    assert result.outcome is CodeOutcome.BURNED


@pytest.mark.parametrize("code", ["１２３４５６", "12345", "1234567", "123456 "])
def test_malformed_codes_are_wrong_even_when_they_look_right(code):
    """API.md: exactly six ASCII digits."""
    result = check_code(KEY, verification_id=VERIFICATION, code=code, state=_state(), now=ISSUED)
    assert result.outcome is CodeOutcome.WRONG


def test_resend_waits_sixty_seconds():
    """DESIGN.md §6: resend after 60 s."""
    early = may_send(last_sent_at=ISSUED, token_sends=[ISSUED], account_sends=[ISSUED],
                     now=ISSUED + timedelta(seconds=59))
    assert not early.is_allowed and early.retry_after == 1
    assert may_send(last_sent_at=ISSUED, token_sends=[ISSUED], account_sends=[ISSUED],
                    now=ISSUED + timedelta(seconds=60)).is_allowed


def test_at_most_three_sends_per_hour_per_token():
    """Issue 17 item 3: one token alone cannot use up the account's codes; retry when its oldest leaves the hour."""
    sends = [ISSUED + timedelta(minutes=minute) for minute in (0, 5, 10)]
    now = ISSUED + timedelta(minutes=30)
    refused = may_send(last_sent_at=sends[-1], token_sends=sends, account_sends=sends, now=now)
    assert not refused.is_allowed and refused.retry_after == 30 * 60
    assert may_send(last_sent_at=sends[-1], token_sends=sends, account_sends=sends,
                    now=ISSUED + timedelta(hours=1)).is_allowed


def test_at_most_five_sends_per_hour_per_account_but_a_tokens_first_code_is_never_starved():
    """DESIGN.md §6 (5 an hour per account) and issue 17 item 3: strangers' sends cannot starve the owner."""
    strangers = [ISSUED + timedelta(minutes=minute) for minute in (0, 5, 10, 15, 20)]
    now = ISSUED + timedelta(minutes=30)
    assert may_send(last_sent_at=None, token_sends=[], account_sends=strangers, now=now).is_allowed
    owner_first = ISSUED + timedelta(minutes=25)
    again = may_send(last_sent_at=owner_first, token_sends=[owner_first], account_sends=strangers + [owner_first],
                     now=now + timedelta(minutes=1))
    assert not again.is_allowed and again.retry_after == 34 * 60
