"""Idempotency keys past their day and claims left by a crashed request (API.md, Idempotency-Key)."""
from datetime import timedelta

import pytest
from flask import Response
from sqlalchemy import func, select

from app.db import utcnow
from app.idempotency import RETENTION, STALE_CLAIM, InFlight, claim, remember
from app.idempotency_record import IdempotencyRecord


def record(session) -> IdempotencyRecord:
    """The one record of the test's key, read anew."""
    session.expire_all()
    return session.get(IdempotencyRecord, ("reports", "key-1"))


def test_a_key_past_its_day_but_not_yet_purged_is_free_for_a_new_body(session):
    first = utcnow()
    assert claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=first) is None
    later = first + RETENTION + timedelta(seconds=1)
    assert claim(session, scope="reports", key="key-1", request_hash="b" * 64, now=later) is None
    assert record(session).request_hash == "b" * 64 and record(session).created_at == later
    assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_a_claim_left_by_a_crashed_request_blocks_retries_for_a_minute_then_is_taken_over(session):
    crashed = utcnow()
    assert claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=crashed) is None
    with pytest.raises(InFlight):
        claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=crashed + STALE_CLAIM / 2)
    session.rollback()
    retry = crashed + STALE_CLAIM + timedelta(seconds=1)
    assert claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=retry) is None
    assert record(session).created_at == retry and record(session).status != "done"


def test_of_a_crashed_claim_and_its_retry_the_first_answer_kept_is_the_one_replayed(app, session):
    """The stale claim's request was slow, not dead: both finish, and the key answers as its first finisher did."""
    crashed = utcnow()
    claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=crashed)
    claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=crashed + STALE_CLAIM * 2)
    with app.test_request_context():
        remember(session, scope="reports", key="key-1", response=Response('{"id": "retry"}', status=201))
        remember(session, scope="reports", key="key-1", response=Response('{"id": "slow"}', status=201))
        replayed = claim(session, scope="reports", key="key-1", request_hash="a" * 64, now=crashed + STALE_CLAIM * 3)
    assert replayed.get_data(as_text=True) == '{"id": "retry"}' and replayed.headers["Idempotent-Replayed"] == "true"


def test_an_answer_for_a_claim_released_meanwhile_is_not_kept_and_does_not_fail(app, session):
    with app.test_request_context():
        remember(session, scope="reports", key="key-1", response=Response("{}", status=201))
    assert record(session) is None
