"""The two state machines of a case, as data, and the one function that moves them."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from functools import lru_cache

from sqlalchemy import ARRAY, Update, Uuid, any_, bindparam, update
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import IllegalTransition
from kernel.transitions import allowed, can_move, check_move
from incidents import audit
from incidents.waiting import waiting_changes
from incidents.models import Incident

Machine = Literal["status", "containment"]

INCIDENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "awaiting_user", "resolved", "closed"}),
    "in_progress": frozenset({"awaiting_user", "resolved", "closed"}),
    "awaiting_user": frozenset({"in_progress", "resolved", "closed"}),
    # An owner's reply within a week of the resolution reopens the case (the conversation's rule).
    "resolved": frozenset({"in_progress"}),
    "closed": frozenset(),
}

CONTAINMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "none": frozenset({"freeze_pending"}),
    "freeze_pending": frozenset({"frozen", "freeze_failed"}),
    "freeze_failed": frozenset({"freeze_pending", "frozen"}),
    "frozen": frozenset({"unfreeze_pending", "freeze_pending"}),
    "unfreeze_pending": frozenset({"unfrozen", "frozen"}),
    "unfrozen": frozenset({"freeze_pending"}),
}

TABLES: dict[str, dict[str, frozenset[str]]] = {
    "status": INCIDENT_TRANSITIONS,
    "containment": CONTAINMENT_TRANSITIONS,
}

# Staff's one door back out of `closed` (`incidents/reopening.py`, one conditional UPDATE); no move of
# `transition`, so every other path finds `closed` final.
REOPEN_TRANSITIONS: dict[str, frozenset[str]] = {"closed": frozenset({"in_progress"})}

TERMINAL_STATUSES = frozenset({"resolved", "closed"})


def can_transition(machine: Machine, current: str, target: str) -> bool:
    """Whether the table lists current → target."""
    return can_move(TABLES[machine], current, target)


def transition(session: Session, incident: Incident, *, machine: Machine, to: str, actor: str,
               reason: str | None = None, now: datetime | None = None) -> None:
    """Validate, apply and audit one move of the incident's status or containment."""
    current, now = getattr(incident, machine), now or utcnow()
    changes = _changes(machine, current, to, now)
    if machine == "status":
        changes.update(waiting_changes(incident, current, to, now))
    for column, value in changes.items():
        setattr(incident, column, value)
    _audit_move(session, incident.id, machine, current, to, actor, reason, now)


def update_rows(session: Session, *, moves: list[tuple[uuid.UUID, str, str]], machine: Machine, to: str,
                now: datetime) -> None:
    """The move of `transition` for many incidents the caller locked and read, each given as (id, current,
    reason), in Core statements instead of loading and flushing the entities (the hot path of confirmed
    freezes): one UPDATE of every incident in one current state; `audit_moves` records their events."""
    by_current: dict[str, list[uuid.UUID]] = {}
    for incident_id, current, _reason in moves:
        by_current.setdefault(current, []).append(incident_id)
    for current, ids in by_current.items():
        session.execute(update(_INCIDENTS).where(_INCIDENTS.c.id.in_(bindparam("ids", expanding=True)))
                        .values(_changes(machine, current, to, now)), {"ids": ids})


def audit_moves(session: Session, *, moves: list[tuple[uuid.UUID, str, str]], machine: Machine, to: str, actor: str,
                now: datetime) -> None:
    """The audit events of moves written by `update_rows` or `moves_update`."""
    for incident_id, current, reason in moves:
        _audit_move(session, incident_id, machine, current, to, actor, reason, now)


@lru_cache(maxsize=None)
def moves_update(machine: Machine, current: str, to: str) -> Update:
    """`update_rows`' UPDATE of the incidents moving from one state, as a statement built once: the ids an
    array (`moved_ids`), the moment `moved_at`; the move is checked here like every move."""
    return (update(_INCIDENTS).where(_INCIDENTS.c.id == any_(bindparam("moved_ids", type_=ARRAY(Uuid))))
            .values(_changes(machine, current, to, bindparam("moved_at"))))


def _changes(machine: Machine, current: str, to: str, now: datetime) -> dict[str, Any]:
    """The columns one move sets; an unlisted move is refused."""
    check_move(TABLES[machine], current, to, subject=machine)
    changes: dict[str, Any] = {machine: to, "updated_at": now}
    if machine == "containment" and to == "frozen" and current != "unfreeze_pending":
        changes["frozen_at"] = now
    if machine == "status" and to in TERMINAL_STATUSES:
        changes["closed_at"] = now
    elif machine == "status" and current in TERMINAL_STATUSES:
        changes["closed_at"] = None
    return changes


_INCIDENTS = Incident.__table__


def reopen_statement(incident_id: uuid.UUID, *, to: str, now: datetime, **changes: Any) -> Update:
    """The reopening's one conditional UPDATE (`WHERE status = 'closed'`, so of two clicks one wins), its move
    checked against `REOPEN_TRANSITIONS`; the caller reads the row count."""
    check_move(REOPEN_TRANSITIONS, "closed", to, subject="status")
    return (update(Incident).where(Incident.id == incident_id, Incident.status == "closed")
            .values(status=to, closed_at=None, updated_at=now, **changes))


def mark_in_progress(session: Session, incident: Incident, *, actor: str, reason: str,
                     now: datetime | None = None) -> None:
    """A case someone (the owner or staff) acts on leaves `open` for `in_progress`; other states stay."""
    if incident.status == "open":
        transition(session, incident, machine="status", to="in_progress", actor=actor, reason=reason, now=now)


# Where each machine starts when an incident is opened.
INITIAL: dict[str, str] = {"status": "open", "containment": "none"}


def opened_moved(session: Session, incident: Incident, *, machine: Machine, to: str, actor: str,
                 reason: str | None = None, now: datetime | None = None) -> None:
    """Audit the first move of an incident that was inserted already in `to` (one INSERT, no UPDATE after it).

    The chain reads exactly as if the incident had been opened in the initial state and moved by
    `transition`; the move must be one the table lists.
    """
    if getattr(incident, machine) != to:
        current = INITIAL[machine]
        raise IllegalTransition(f"{machine} cannot open as {getattr(incident, machine)} via {current} → {to}",
                                current=current, allowed=allowed(TABLES[machine], current))
    opened_moved_row(session, incident.id, machine=machine, to=to, actor=actor, reason=reason, now=now or utcnow())


def opened_moved_row(session: Session, incident_id: uuid.UUID, *, machine: Machine, to: str, actor: str,
                     reason: str | None, now: datetime) -> None:
    """`opened_moved` for an incident the caller inserted in `to` with a Core statement (no entity loaded)."""
    current = INITIAL[machine]
    check_move(TABLES[machine], current, to, subject=machine,
               detail="{subject} cannot open as {to} via {current} → {to}")
    _audit_move(session, incident_id, machine, current, to, actor, reason, now)


def _audit_move(session: Session, incident_id: uuid.UUID, machine: Machine, current: str, to: str, actor: str,
                reason: str | None, now: datetime) -> None:
    """The audit event of one move."""
    audit.record(session, actor=actor, action=f"incident.{machine}.{to}", subject_type="incident",
                 subject_id=incident_id, incident_id=incident_id,
                 data={"from": current, "to": to, "reason": reason}, now=now)
