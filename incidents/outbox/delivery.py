"""Deliveries through the outbox (notifications, webhooks, peer messages): claim, send, record each attempt.

Rows are claimed with the shared lease engine; the send runs with no transaction open, and the
outcome is written only by the holder of the token. Failures retry with capped, jittered backoff
until MAX_ATTEMPTS.
"""
from __future__ import annotations

import functools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import Session, sessionmaker

from incidents.outbox import lease
from incidents.outbox.lease import DispatchPolicy, Lease

DELIVERY_POLICY = DispatchPolicy(lease_seconds=60.0, backoff_base_seconds=5.0, backoff_cap_seconds=3600.0,
                                 batch_size=20)
DELIVERY_LEASE = Lease("delivery", DELIVERY_POLICY)
MAX_ATTEMPTS = 12


def claim_due_rows(session: Session, model: type, *, now: datetime, limit: int) -> list[Any]:
    """Lock and mark in flight up to `limit` due rows of a delivery table; the caller commits."""
    return lease.claim_due(session, model, lease=DELIVERY_LEASE, now=now, limit=limit)


@dataclass(frozen=True)
class Attempt:
    """How one send went: the error (None when delivered) and whether trying later may help."""

    error: str | None = None
    is_retryable: bool = False


def record_attempts(sessions: sessionmaker[Session], model: type, attempts: list[tuple[uuid.UUID, str, Attempt]],
                    *, now: datetime, on_failed: Callable[[Session, Any], None] | None = None) -> None:
    """Record a batch's outcomes (row id, claim token, attempt) in one transaction, where the claim still holds.

    The batch is sent first and recorded after: a worker dying in between leaves its rows to the
    lease, and they are sent again (at least once, never lost).
    """
    if not attempts:
        return
    delivered = [{"row_id": row_id, "token": token, "now": now} for row_id, token, attempt in attempts
                 if attempt.error is None]
    missed = {row_id: token for row_id, token, attempt in attempts if attempt.error is not None}
    with sessions() as session:
        if delivered:  # the usual outcome: one statement for the batch, no rows loaded
            session.execute(_finish_delivered(model), delivered)
        held = lease.reclaim(session, model, missed)
        for row_id, _token, attempt in attempts:
            if row_id in held:
                status = finish_row(held[row_id], error=attempt.error, is_retryable=attempt.is_retryable, now=now)
                if status == "failed" and on_failed is not None:
                    on_failed(session, held[row_id])
        session.commit()


@functools.cache
def _finish_delivered(model: type) -> Any:
    """What `finish_row` writes for a delivered row, as one Core UPDATE that only the claim's holder matches (sent
    once per row, batched); a row whose claim was lost meanwhile is left alone, as `reclaim` would."""
    table = model.__table__
    return (table.update().where(table.c.id == bindparam("row_id"), table.c.status == "in_flight",
                                 table.c.claim_token == bindparam("token"))
            .values(lease.finished("done", last_error=None, delivered_at=bindparam("now"))))


def finish_row(row: Any, *, error: str | None, is_retryable: bool, now: datetime,
               rand: Callable[[], float] = random.random) -> str:
    """Record a delivery attempt: done, pending again after a backoff, or failed for good; the new status."""
    if error is None:
        lease.finish(row, "done", last_error=None, delivered_at=now)
    elif is_retryable and row.attempts < MAX_ATTEMPTS:
        delay = lease.backoff_delay(row.attempts, policy=DELIVERY_POLICY, rand=rand)
        lease.finish(row, "pending", last_error=error, next_attempt_at=now + timedelta(seconds=delay))
    else:
        lease.finish(row, "failed", last_error=error)
    return row.status


def postpone_row(row: Any, *, reason: str, now: datetime, give_up_after: timedelta) -> str:
    """Not deliverable yet (its facts are still coming): try again later, or fail once too old; the new status
    (a caller tells staff of a failed row as `record_attempts`' on_failed does)."""
    if now - row.created_at > give_up_after:
        return finish_row(row, error=reason, is_retryable=False, now=now)
    finish_row(row, error=reason, is_retryable=True, now=now)
    row.attempts = max(row.attempts - 1, 0)
    return row.status


def skip_row(row: Any, *, reason: str) -> None:
    """Nobody to deliver to (no registered contact): the row is closed as skipped, not failed."""
    lease.finish(row, "skipped", last_error=reason)
