"""The audit chain: append-only events linked by hash = sha256(prev_hash + canonical_json(event)).

An event is written in the same transaction as the change it describes, unlinked. A sealer then
links committed events in order under a short lock: it gives each its position (`seq`), the hash of
the one before, and its own hash. Writers never wait for each other on the chain, and one sealer's
lock covers many events at once. The database refuses any other change to a row (triggers), and a
sealed row can never change again.

`record` buffers an event on its session; the buffer is written with one multi-row INSERT before the
session's next statement that could read it (any but a plain INSERT into another table), flush or
commit (and by `savepoint()` before a savepoint), so a transaction always reads its own events and
pays one statement for all of them. A rollback drops what it had not written.

Each event is sealed exactly once, so sealing is also where what an event sets in motion is written:
the callables a session lists under `session.info[ON_SEALED]` receive every batch of newly sealed
events (rows with the event's columns) inside the sealing transaction (the composition root puts the
notification and webhook outbox writer there). Requests thus write one event row, and the
consequences follow in batches.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.event import listens_for
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from app.db import insert_rows, is_postgresql, unnest_rows, utcnow
from app.together import Rows
from kernel.errors import InvalidInput
from incidents.models import AuditEvent

GENESIS_HASH = "0" * 64
# Any constant works; it names the one lock that serialises sealing on PostgreSQL.
_CHAIN_LOCK_ID = 0x10C4DE5
SEAL_BATCH = 500
# Key of `Session.info`: callables (session, sealed events) run in the sealing transaction.
ON_SEALED = "lockdesk.audit.on_sealed"
# Key of `Session.info`: the rows recorded in this transaction and not yet written.
_PENDING = "lockdesk.audit.pending"
_RECORDED = ("occurred_at", "actor", "action", "subject_type", "subject_id", "incident_id", "data")


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
           now: datetime | None = None) -> None:
    """Add one event to the caller's transaction (the caller commits; the sealer links it)."""
    if not session.in_transaction():
        session.begin()  # so that a rollback before any statement is seen, and drops the event
    session.info.setdefault(_PENDING, []).append({
        "occurred_at": now or utcnow(), "actor": actor, "action": action, "subject_type": subject_type,
        "subject_id": str(subject_id), "incident_id": incident_id, "data": json.loads(canonical_json(data or {})),
    })


def take_pending(session: Session) -> Rows | None:
    """The events recorded since the last write, taken for the caller to write with other rows in one statement
    (`app.together.insert_together`); None if there are none."""
    rows = session.info.pop(_PENDING, None)
    return Rows(AuditEvent.__table__, rows, _RECORDED) if rows else None


def write_pending(session: Session) -> None:
    """Insert the events recorded since the last write, in the order they were recorded, with one statement
    (`insert_rows`: a wave's thousands of events in one)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        insert_rows(session.connection(), AuditEvent.__table__, rows, _RECORDED)


@listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    """A statement may read the events: write them first. A plain INSERT into another table cannot, so the
    events wait for the next statement that might, or for the flush or commit (one INSERT for them all)."""
    table = getattr(state.statement, "table", None)  # None where the INSERT is wrapped (FromStatement)
    if state.is_insert and table is not None and table is not AuditEvent.__table__ \
            and getattr(state.statement, "select", None) is None:
        return
    write_pending(state.session)


@listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    """Flushed with the other changes."""
    write_pending(session)


@listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    """Committed with the transaction that recorded them."""
    write_pending(session)


def savepoint(session: Session) -> SessionTransaction:
    """`session.begin_nested()`, after writing the events recorded so far: they belong to the enclosing
    transaction, whatever the savepoint does."""
    write_pending(session)
    return session.begin_nested()


@listens_for(Session, "after_transaction_create")
def _refuse_savepoint_over_pending_events(session: Session, transaction: SessionTransaction) -> None:
    """A savepoint's rollback would drop events recorded before it: `savepoint()` writes them first."""
    if transaction.nested and session.info.get(_PENDING):
        raise RuntimeError("audit events are waiting to be written: open the savepoint with audit.savepoint()")


@listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: SessionTransaction) -> None:
    """Rolled back: what was recorded since the last write never happened."""
    session.info.pop(_PENDING, None)


@listens_for(Session, "after_transaction_end")
def _after_transaction(session: Session, transaction: SessionTransaction) -> None:
    """A transaction closed without committing (session closed) leaves nothing for the next one."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def seal(session: Session, *, limit: int = SEAL_BATCH) -> int:
    """Link committed events into the chain, oldest first; the number sealed (0 when another sealer is at it)."""
    write_pending(session)
    if is_postgresql(session) and not session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _CHAIN_LOCK_ID}):
        session.rollback()
        return 0
    head = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
                           .order_by(AuditEvent.seq.desc()).limit(1)).first()
    position, prev = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    pending = session.execute(_UNSEALED, {"limit": limit}).all()
    links = []
    for event in pending:
        position += 1
        link = chain_hash(prev, event)
        links.append({"event_id": event.id, "seq": position, "prev_hash": prev, "hash": link})
        prev = link
    if pending:
        _link(session, links)
        for consumer in session.info.get(ON_SEALED, ()):
            consumer(session, pending)
    session.commit()
    return len(pending)


# The columns a link covers (rows, not ORM objects: sealing reads and writes hundreds at a time).
_EVENTS = AuditEvent.__table__
_UNSEALED = (select(_EVENTS.c.id, _EVENTS.c.occurred_at, _EVENTS.c.actor, _EVENTS.c.action, _EVENTS.c.subject_type,
                    _EVENTS.c.subject_id, _EVENTS.c.incident_id, _EVENTS.c.data)
             .where(_EVENTS.c.seq.is_(None)).order_by(_EVENTS.c.id).limit(bindparam("limit")))
_LINK = (update(_EVENTS).where(_EVENTS.c.id == bindparam("event_id"))
         .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash")))
_LINKS = unnest_rows(_EVENTS, ("id", "seq", "prev_hash", "hash"), "links", prefix="link_")
_LINK_ALL = (update(_EVENTS).where(_EVENTS.c.id == _LINKS.c.id)
             .values(seq=_LINKS.c.seq, prev_hash=_LINKS.c.prev_hash, hash=_LINKS.c.hash))


def _link(session: Session, links: list[dict[str, Any]]) -> None:
    """Write the links: on PostgreSQL one UPDATE … FROM unnest for all of them, else one UPDATE each (a batch)."""
    if is_postgresql(session):
        session.execute(_LINK_ALL, {"link_id": [link["event_id"] for link in links],
                                    "link_seq": [link["seq"] for link in links],
                                    "link_prev_hash": [link["prev_hash"] for link in links],
                                    "link_hash": [link["hash"] for link in links]})
    else:
        session.execute(_LINK, links)


def seal_all(session: Session) -> int:
    """Seal until nothing committed is left unlinked; the number sealed."""
    total = 0
    while (sealed := seal(session)) > 0:
        total += sealed
    return total


@dataclass(frozen=True)
class ChainCheck:
    """Outcome of recomputing the chain; `pending` events are committed but not yet linked."""

    valid: bool
    events: int
    head: str | None = None
    first_bad_event: int | None = None
    pending: int = 0


def verify_chain(session: Session, *, batch: int = 1000) -> ChainCheck:
    """Recompute every link in order; name the first event whose link or position does not hold."""
    prev, count = GENESIS_HASH, 0
    query = select(AuditEvent).where(AuditEvent.seq.is_not(None)).order_by(AuditEvent.seq)
    for event in session.execute(query.execution_options(yield_per=batch)).scalars():
        if event.seq != count + 1 or event.prev_hash != prev or chain_hash(prev, event) != event.hash:
            return ChainCheck(valid=False, events=count, first_bad_event=event.id)
        prev = event.hash
        count += 1
    pending = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.seq.is_(None)))
    return ChainCheck(valid=True, events=count, head=prev, pending=pending)


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
