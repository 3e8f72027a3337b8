"""Idempotency keys past their day and claims left by a crashed request (API.md, Idempotency-Key)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.idempotency import RETENTION, STALE_CLAIM, InFlight, claim
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
