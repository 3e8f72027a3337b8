"""The audit chain: append-only events linked by hash = sha256(prev_hash + canonical_json(event))."""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db import InvalidInput, is_postgresql, utcnow
from incidents.models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works; it names the one lock that serialises appends to the chain on PostgreSQL.
_CHAIN_LOCK_ID = 0x10C4DE5


def canonical_json(value: Any) -> str:
    """Serialise deterministically: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_body(event: AuditEvent) -> dict[str, Any]:
    """The fields an event's hash covers."""
    return {
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "incident_id": str(event.incident_id) if event.incident_id else None,
        "data": event.data,
    }


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    """Hash of one link of the chain."""
    return hashlib.sha256((prev_hash + canonical_json(event_body(event))).encode()).hexdigest()


def record(session: Session, *, actor: str, action: str, subject_type: str, subject_id: Any,
           incident_id: uuid.UUID | None = None, data: dict[str, Any] | None = None,
           now: datetime | None = None) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction (the caller commits)."""
    event = AuditEvent(
        occurred_at=now or utcnow(), actor=actor, action=action, subject_type=subject_type,
        subject_id=str(subject_id), incident_id=incident_id,
        data=json.loads(canonical_json(data or {})),
    )
    event.prev_hash = _chain_head(session)
    event.hash = chain_hash(event.prev_hash, event)
    session.add(event)
    session.info["audit_head"] = (session.get_transaction(), event.hash)
    return event


def _chain_head(session: Session) -> str:
    """The newest hash, read under the chain lock so concurrent appends cannot fork the chain."""
    cached = session.info.get("audit_head")
    if cached and cached[0] is session.get_transaction():
        return cached[1]
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID})
    head = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    return head or GENESIS_HASH


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of recomputing the chain."""

    valid: bool
    events: int
    head: str | None = None
    first_bad_event: int | None = None


def verify_chain(session: Session, *, batch: int = 1000) -> ChainCheck:
    """Recompute every link in order; name the first event whose link does not hold."""
    prev = GENESIS_HASH
    count = 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=batch))
    for event in rows.scalars():
        if event.prev_hash != prev or chain_hash(prev, event) != event.hash:
            return ChainCheck(valid=False, events=count, first_bad_event=event.id)
        prev = event.hash
        count += 1
    return ChainCheck(valid=True, events=count, head=prev if count else GENESIS_HASH)


def timeline(session: Session, *, incident_id: uuid.UUID) -> list[AuditEvent]:
    """An incident's audit events, oldest first."""
    query = select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.id)
    return list(session.scalars(query))


@dataclass(frozen=True)
class EventPage:
    """A page of audit events and the cursor of the next."""

    items: list[AuditEvent]
    next_cursor: str | None


def list_events(session: Session, *, incident_id: uuid.UUID | None = None, limit: int = 50,
                cursor: str | None = None) -> EventPage:
    """Audit events oldest first after the cursor (the last id seen)."""
    query = select(AuditEvent).order_by(AuditEvent.id).limit(limit + 1)
    if incident_id is not None:
        query = query.where(AuditEvent.incident_id == incident_id)
    if cursor:
        query = query.where(AuditEvent.id > _cursor_id(cursor))
    rows = list(session.scalars(query))
    items = rows[:limit]
    return EventPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


def _cursor_id(cursor: str) -> int:
    """The event id a cursor points after."""
    if not cursor.isdigit():
        raise InvalidInput("cursor", "is not a cursor this list gave out")
    return int(cursor)
