"""The one claim/lease/record engine of every outbox table.

A row is claimed by marking it in flight under a fresh claim token and a lease (`claimed_until`), in
a short transaction (rows locked `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's immediate
transactions serialise). The outside call runs with no transaction open. The outcome is written in
one transaction, and only if the claim token still matches: a worker that lost its lease (it was slow
or died) cannot record over the one that took the row over.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.db import new_id
from incidents.outbox.states import moved, transition


@dataclass(frozen=True)
class DispatchPolicy:
    """How long a claim lasts, how retries back off, how much one claim takes."""

    lease_seconds: float = 60.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 300.0
    batch_size: int = 50
    withdrawal_lookback_days: int = 30
    freeze_batch_size: int = 500


@dataclass(frozen=True)
class Lease:
    """Who claims rows (written on the rows that keep it) and under which policy."""

    worker: str
    policy: DispatchPolicy

    def until(self, now: datetime) -> datetime:
        """When a claim taken now lapses."""
        return now + timedelta(seconds=self.policy.lease_seconds)


def backoff_delay(attempts: int, *, policy: DispatchPolicy, retry_after: float | None = None,
                  rand: Callable[[], float] = random.random) -> float:
    """Capped exponential backoff with jitter (half fixed, half random); never sooner than Retry-After."""
    ceiling = min(policy.backoff_cap_seconds, policy.backoff_base_seconds * 2 ** max(attempts - 1, 0))
    delay = ceiling / 2 + rand() * ceiling / 2
    return max(delay, min(retry_after or 0.0, policy.backoff_cap_seconds))


def due(model: type, now: datetime):
    """Pending and due, or claimed by someone whose lease ran out."""
    return or_(and_(model.status == "pending", model.next_attempt_at <= now),
               and_(model.status == "in_flight", model.claimed_until < now))


def claim_due(session: Session, model: type, *, lease: Lease, now: datetime, limit: int,
              only: Any = None) -> list[Any]:
    """Lock and take up to `limit` due rows of an outbox table (those matching `only`, if given), oldest due
    first; the caller commits."""
    query = select(model).where(due(model, now))
    if only is not None:
        query = query.where(only)
    query = (query.order_by(model.next_attempt_at, model.created_at).limit(limit)
             .with_for_update(skip_locked=True))
    rows = list(session.scalars(query))
    for row in rows:
        take(row, lease=lease, now=now)
    return rows


def taken_columns(table: Any, *, lease: Lease, now: datetime, attempts: Any) -> dict[str, Any]:
    """The columns a claim sets on a row of `table` (a model or a row): its attempt, a fresh token, the lease's
    end and, where the table keeps it, the worker. `take` and `claim_pending` both claim with these."""
    values = {"attempts": attempts, "claim_token": new_id().hex, "claimed_until": lease.until(now)}
    if hasattr(table, "claimed_by"):
        values["claimed_by"] = lease.worker[:100]
    return values


def take(row: Any, *, lease: Lease, now: datetime) -> Any:
    """Mark a row the caller locked (or is writing) in flight under a fresh token and lease."""
    transition(row, "in_flight", **taken_columns(row, lease=lease, now=now, attempts=(row.attempts or 0) + 1))
    return row


def take_values(row: dict[str, Any], *, model: type, lease: Lease, now: datetime) -> dict[str, Any]:
    """`take` for a row of `model` not yet written, given as its columns: the same move and claim."""
    return {**row, **moved(row["status"], "in_flight",
                           **taken_columns(model, lease=lease, now=now, attempts=(row["attempts"] or 0) + 1))}


def claim_pending(session: Session, model: type, row_id: uuid.UUID, *, lease: Lease, now: datetime,
                  returning: Sequence[Any]) -> Any | None:
    """Take one pending row now, due or not, with one conditional UPDATE … RETURNING (its row lock settles a
    race with a worker, and saves a separate read); the returned columns, or None if someone holds it. The
    caller commits."""
    values = moved("pending", "in_flight", **taken_columns(model, lease=lease, now=now, attempts=model.attempts + 1))
    return session.execute(update(model).where(model.id == row_id, model.status == "pending").values(values)
                           .returning(*returning).execution_options(synchronize_session=False)).first()


def holds(status: str | None, claim_token: str | None, token: str) -> bool:
    """Whether a row read as (status, claim_token) is still held by the claim of `token`."""
    return status == "in_flight" and claim_token == token


def reclaim(session: Session, model: type, claims: dict[uuid.UUID, str]) -> dict[uuid.UUID, Any]:
    """The rows, locked in one statement, whose claims (id → token) this worker still holds."""
    if not claims:
        return {}
    query = (select(model).where(model.id.in_(claims)).with_for_update()
             .execution_options(populate_existing=True))
    return {row.id: row for row in session.scalars(query) if holds(row.status, row.claim_token, claims[row.id])}


def finish(row: Any, to: str, **changes: Any) -> None:
    """Move a held row out of flight and give up its claim."""
    transition(row, to, claim_token=None, claimed_until=None, **changes)


def finished(to: str, **changes: Any) -> dict[str, Any]:
    """The columns `finish` sets, for a Core UPDATE of a row read in flight (the hot path)."""
    return moved("in_flight", to, claim_token=None, claimed_until=None, **changes)
