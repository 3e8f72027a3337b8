"""Webhook signatures (SECURITY.md: Stripe's scheme, both directions of the 300 s tolerance, rotation)."""
from datetime import UTC, datetime, timedelta

import pytest

from incidents.signatures import BadSignature, hmac_sha256_hex, sign, signature_header, verify

NOW = datetime(2026, 11, 21, 3, 12, tzinfo=UTC)
BODY = b'{"event_id":"e1"}'


def test_hmac_matches_githubs_published_webhook_vector():
    assert hmac_sha256_hex("It's a Secret to Everybody", b"Hello, World!") == (
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_a_correct_signature_is_accepted_and_returns_its_timestamp():
    t = int(NOW.timestamp())
    assert verify(signature_header("s1", t, BODY), BODY, secrets=["s1"], now=NOW) == t


@pytest.mark.parametrize("skew", [301, -301])
def test_a_timestamp_more_than_300_seconds_away_in_either_direction_is_refused(skew):
    t = int((NOW + timedelta(seconds=skew)).timestamp())
    with pytest.raises(BadSignature, match="300 s"):
        verify(signature_header("s1", t, BODY), BODY, secrets=["s1"], now=NOW)


@pytest.mark.parametrize("skew", [300, -300])
def test_a_timestamp_exactly_at_the_tolerance_is_accepted(skew):
    t = int((NOW + timedelta(seconds=skew)).timestamp())
    verify(signature_header("s1", t, BODY), BODY, secrets=["s1"], now=NOW)


def test_any_of_several_v1_signatures_may_match_during_rotation():
    t = int(NOW.timestamp())
    header = f"t={t},v1={sign('old', t, BODY)},v1={sign('new', t, BODY)}"
    verify(header, BODY, secrets=["new"], now=NOW)
    verify(header, BODY, secrets=["old"], now=NOW)


def test_both_active_secrets_are_tried_during_rotation():
    t = int(NOW.timestamp())
    verify(signature_header("old", t, BODY), BODY, secrets=["new", "old"], now=NOW)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=abc,v1=00", f"t={int(NOW.timestamp())}"])
def test_missing_or_malformed_headers_are_refused(header):
    with pytest.raises(BadSignature):
        verify(header, BODY, secrets=["s1"], now=NOW)


def test_a_changed_body_is_refused():
    t = int(NOW.timestamp())
    with pytest.raises(BadSignature, match="no signature matched"):
        verify(signature_header("s1", t, BODY), BODY + b" ", secrets=["s1"], now=NOW)
