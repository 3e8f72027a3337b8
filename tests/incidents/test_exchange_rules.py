"""Pure rules of the exchange link: request signatures, the circuit breaker, retry backoff."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.outbox.lease import DispatchPolicy, backoff_delay
from incidents.exchange.breaker import CircuitBreaker
from incidents.exchange.port import ExchangeUnavailable
from incidents.exchange.signing import is_valid, sign

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
STAMP = "2026-11-21T10:00:00.000Z"


def test_signature_is_base64_hmac_over_timestamp_method_path_and_body():
    import base64
    import hashlib
    import hmac

    body = b'{"scope":"full"}'
    expected = base64.b64encode(hmac.new(b"s3cret", STAMP.encode() + b"POST/v1/accounts/U1/freeze" + body,
                                         hashlib.sha256).digest()).decode()
    assert sign("s3cret", timestamp=STAMP, method="post", path="/v1/accounts/U1/freeze", body=body) == expected


def test_a_signature_over_another_path_or_body_is_refused():
    good = sign("k", timestamp=STAMP, method="GET", path="/v1/accounts/U1/withdrawals?since=x", body=b"")
    assert is_valid("k", signature=good, timestamp=STAMP, method="GET", path="/v1/accounts/U1/withdrawals?since=x",
                    body=b"", now=NOW)
    assert not is_valid("k", signature=good, timestamp=STAMP, method="GET", path="/v1/accounts/U1/withdrawals",
                        body=b"", now=NOW)
    assert not is_valid("k", signature=good, timestamp=STAMP, method="GET",
                        path="/v1/accounts/U1/withdrawals?since=x", body=b"{}", now=NOW)


@pytest.mark.parametrize("skew", [timedelta(seconds=301), timedelta(seconds=-301)])
def test_a_signature_older_or_newer_than_300_seconds_is_refused(skew):
    signature = sign("k", timestamp=STAMP, method="GET", path="/v1/accounts/U1", body=b"")
    assert not is_valid("k", signature=signature, timestamp=STAMP, method="GET", path="/v1/accounts/U1",
                        body=b"", now=NOW + skew)


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_half_opens_after_the_cool_down():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after=30, clock=clock)
    for _ in range(3):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(ExchangeUnavailable) as refused:
        breaker.before_call()
    assert refused.value.retry_after == pytest.approx(30)
    clock.now += 30
    breaker.before_call()  # the one trial call
    with pytest.raises(ExchangeUnavailable):
        breaker.before_call()  # others wait while the trial runs
    breaker.record_success()
    assert breaker.state == "closed"


def test_a_failed_trial_opens_the_breaker_again():
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"


def test_a_success_resets_the_count_of_consecutive_failures():
    breaker = CircuitBreaker(failure_threshold=2, reset_after=10, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_backoff_doubles_from_half_a_second_with_jitter_and_stops_at_five_minutes():
    policy = DispatchPolicy()
    assert backoff_delay(1, policy=policy, rand=lambda: 0.0) == 0.25
    assert backoff_delay(1, policy=policy, rand=lambda: 1.0) == 0.5
    assert backoff_delay(4, policy=policy, rand=lambda: 1.0) == 4.0
    assert backoff_delay(40, policy=policy, rand=lambda: 1.0) == 300.0
    assert backoff_delay(40, policy=policy, rand=lambda: 0.0) == 150.0


def test_backoff_waits_at_least_as_long_as_retry_after_but_never_past_the_cap():
    policy = DispatchPolicy()
    assert backoff_delay(1, policy=policy, retry_after=7, rand=lambda: 0.5) == 7
    assert backoff_delay(1, policy=policy, retry_after=10_000, rand=lambda: 0.5) == 300.0
