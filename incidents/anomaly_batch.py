"""Risk-engine events in batches (a wave of compromised accounts): each event scored and acted on exactly as
if it had been sent alone, in the order sent, with set-based writes in one transaction.

`ingest_anomaly` takes one event per transaction with a round trip per step; here the batch's duplicates,
window scores and open incidents are read with one query each, every decision is made in memory in the
order sent (the same weights, window, thresholds and rules as `incidents.anomalies._act`), then the new
incidents, the events, the freeze commands (built as rows by `containment.freeze_opened_rows`, or by
`containment.request_freeze_rows` for an incident that was open before) and the audit events are each written
with one statement (on PostgreSQL an `unnest` of one array per column, whatever the number of rows: no
entity, and no round trip, per event). Nothing is written unless the whole batch is. With a lease, the
freezes are written already claimed under it, for the caller to send right after the commit.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from app.db import by_column, new_id, unnest_insert, utcnow
from kernel.errors import Conflict
from incidents import audit, containment
from incidents.anomalies import FUTURE_SLACK, AnomalyInput, AnomalyOutcome, ScoringPolicy, watch_incident
from incidents.intake import note_suspicion, record_opened_row
from incidents.models import OPEN_INCIDENT_SQL, OPEN_STATUSES, AnomalyEvent, Incident, format_reference
from incidents.outbox.calls import Claim
from incidents.outbox.commands import write_command_rows
from incidents.outbox.lease import Lease
from incidents.states import INITIAL
from incidents.suspicion import clamp_claim

MAX_BATCH_EVENTS = 1000
# A concurrent sender took one of the batch's event ids or opened an incident for one of its accounts
# between our reads and our writes: the batch is rolled back and read again, this many times at most.
BATCH_TRIES = 3


class _Raced(Exception):
    """Someone else wrote what the batch was about to write: read again."""


@dataclass
class _Case:
    """An account's open incident as the batch sees it while deciding (an existing one, or one it opens)."""

    id: uuid.UUID
    containment: str
    risk_score: int
    first_suspicious_at: datetime | None
    incident: Incident | None = None  # loaded (an existing one)
    opening: dict[str, Any] | None = None  # the fields of a new incident
    reference: str = ""  # a new incident's, once inserted


@dataclass
class _Event:
    """A fresh event of the batch: its row to insert and what acting on it did."""

    row: dict[str, Any]
    case: _Case | None = None
    opened: bool = False
    freeze_reason: str | None = None


def ingest_batch(session: Session, *, events: list[AnomalyInput], policy: ScoringPolicy, sla_hours: int = 24,
                 now: datetime | None = None, lease: Lease | None = None) -> list[AnomalyOutcome]:
    """Record each event once, score and act on it as if sent alone, in order; one commit for the batch.

    An event id seen before, earlier in the batch included, answers with the first answer (duplicate).
    With `lease`, each freeze is written already claimed under it and its outcome carries the claim, for the
    caller to send once committed (should the caller die first, the lease runs out and a worker takes it).
    """
    now = now or utcnow()
    for _ in range(BATCH_TRIES):
        try:
            outcomes = _ingest(session, events, policy, sla_hours, now, lease)
            session.commit()
            return outcomes
        except _Raced:  # only the two races above; any other failure is a fault, not a race, and is raised
            session.rollback()
    raise Conflict("the batch's events or accounts kept changing under concurrent senders; send the batch again")


def _ingest(session: Session, events: list[AnomalyInput], policy: ScoringPolicy, sla_hours: int,
            now: datetime, lease: Lease | None) -> list[AnomalyOutcome]:
    """Decide every event in memory, then write the batch (the caller commits)."""
    seen = _seen(session, [event.event_id for event in events])
    fresh_events = _unique_fresh(events, seen)
    running = _window_scores(session, {event.account_id for event in fresh_events}, policy, now)
    cases = _open_cases(session, {event.account_id for event in fresh_events
                                  if policy.weights.get(event.type, 0) > 0})
    decided: dict[str, _Event] = {}
    for event in fresh_events:
        decided[event.event_id] = _decide(event, running, cases, policy, sla_hours, now)
    _insert_incidents(session, [case for case in cases.values() if case.opening is not None])
    _insert_events(session, [item.row for item in decided.values()])
    freezes = _record(session, list(decided.values()), now, lease)
    return _answers(events, seen, decided, freezes)


def _seen(session: Session, event_ids: list[str]) -> dict[str, tuple[str, Any]]:
    """Event ids stored before: their first action and incident."""
    query = (select(AnomalyEvent.event_id, AnomalyEvent.action, AnomalyEvent.incident_id)
             .where(AnomalyEvent.event_id.in_(set(event_ids))))
    return {row.event_id: (row.action, row.incident_id) for row in session.execute(query)}


def _unique_fresh(events: list[AnomalyInput], seen: dict[str, tuple[str, Any]]) -> list[AnomalyInput]:
    """The events to act on: ids not seen before, each id's first occurrence in the batch."""
    fresh: dict[str, AnomalyInput] = {}
    for event in events:
        if event.event_id not in seen:
            fresh.setdefault(event.event_id, event)
    return list(fresh.values())


def _window_scores(session: Session, accounts: set[str], policy: ScoringPolicy, now: datetime) -> dict[str, int]:
    """Each account's sum of stored weights inside the window ending now (`anomalies._window_score`)."""
    if not accounts:
        return {}
    query = (select(AnomalyEvent.account_id, func.coalesce(func.sum(AnomalyEvent.weight), 0))
             .where(AnomalyEvent.account_id.in_(accounts), AnomalyEvent.occurred_at >= now - policy.window,
                    AnomalyEvent.occurred_at <= now + FUTURE_SLACK)
             .group_by(AnomalyEvent.account_id))
    return {account: int(total) for account, total in session.execute(query)}


def _open_cases(session: Session, accounts: set[str]) -> dict[str, _Case]:
    """The open incidents of these accounts (at most one each)."""
    if not accounts:
        return {}
    query = select(Incident).where(Incident.account_id.in_(accounts), Incident.status.in_(OPEN_STATUSES))
    return {incident.account_id: _Case(id=incident.id, containment=incident.containment,
                                       risk_score=incident.risk_score,
                                       first_suspicious_at=incident.first_suspicious_at, incident=incident)
            for incident in session.scalars(query)}


def _decide(event: AnomalyInput, running: dict[str, int], cases: dict[str, _Case], policy: ScoringPolicy,
            sla_hours: int, now: datetime) -> _Event:
    """Score the event over the window and act on it: the decisions of `anomalies._act`, made in memory."""
    weight = policy.weights.get(event.type, 0)
    if now - policy.window <= event.occurred_at <= now + FUTURE_SLACK:
        running[event.account_id] = running.get(event.account_id, 0) + weight
    score = running.get(event.account_id, 0)
    row = {"id": new_id(), "event_id": event.event_id, "account_id": event.account_id, "type": event.type,
           "occurred_at": event.occurred_at, "details": event.details, "weight": weight, "score": score,
           "action": "ignored", "incident_id": None, "received_at": now}
    decided = _Event(row)
    case = cases.get(event.account_id)
    if weight == 0 or (case is None and score < policy.watch_threshold):
        return decided
    if case is None:
        opening = watch_incident(score, event.occurred_at, sla_hours, now)
        case = cases[event.account_id] = _Case(id=new_id(), containment=INITIAL["containment"], risk_score=score,
                                               first_suspicious_at=opening["first_suspicious_at"],
                                               opening={**opening, "account_id": event.account_id})
        decided.opened, row["action"] = True, "watch"
    else:
        row["action"] = "attached"
    decided.case, row["incident_id"] = case, case.id
    case.risk_score = max(case.risk_score, score)
    suspicious_at = clamp_claim(event.occurred_at, received_at=now)
    if case.first_suspicious_at is None or suspicious_at < case.first_suspicious_at:
        case.first_suspicious_at = suspicious_at
    if score >= policy.freeze_threshold and case.containment in containment.FREEZABLE:
        case.containment = "freeze_pending"
        decided.freeze_reason = f"risk score {score} crossed {policy.freeze_threshold}"
        row["action"] = "frozen"
    return decided


def _insert_incidents(session: Session, opening: list[_Case]) -> None:
    """Insert the new incidents in their final state with one statement; someone else having opened one for
    the same account meanwhile (the unique index of open incidents) makes the batch read again."""
    if not opening:
        return
    rows = [{**case.opening, "id": case.id, "status": INITIAL["status"], "containment": case.containment,
             "risk_score": case.risk_score, "first_suspicious_at": case.first_suspicious_at} for case in opening]
    inserted = session.execute(*_statement(session, _INSERT_UNLESS_OPEN, rows, _INCIDENT_COLUMNS))
    numbers = {row.id: row.number for row in inserted}
    if len(numbers) != len(opening):
        raise _Raced
    for case, row in zip(opening, rows, strict=True):
        case.reference = format_reference(row["created_at"].year, numbers[case.id])


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the events with one statement; an event id stored by someone else meanwhile (its unique
    index: the row is skipped, not an error) makes the batch read again."""
    if not rows:
        return
    if len(session.execute(*_statement(session, _INSERT_UNLESS_SEEN, rows, _EVENT_COLUMNS)).all()) != len(rows):
        raise _Raced


def _record(session: Session, decided: list[_Event], now: datetime,
            lease: Lease | None) -> dict[str, dict[str, Any]]:
    """In the order sent: each event's audit trail and freeze commands, as `ingest_anomaly` writes them; the
    existing incidents' new scores. The freeze commands' rows by event id."""
    freezes: dict[str, dict[str, Any]] = {}
    commands: list[dict[str, Any]] = []
    for item in decided:
        case = item.case
        if item.opened:
            record_opened_row(session, incident_id=case.id, reference=case.reference,
                              account_id=case.opening["account_id"], kind=case.opening["kind"],
                              source=case.opening["source"], now=now)
        if item.freeze_reason is not None:
            rows = _queue_freeze(session, case, item.freeze_reason, now, lease)
            freezes[item.row["event_id"]] = rows[0]
            commands.extend(rows)
        row = item.row
        audit.record(session, actor="risk-engine", action="anomaly.received", subject_type="anomaly_event",
                     subject_id=row["id"], incident_id=row["incident_id"],
                     data={"event_id": row["event_id"], "type": row["type"], "weight": row["weight"],
                           "score": row["score"], "action": row["action"]}, now=now)
    for case in {item.case.id: item.case for item in decided if item.case is not None}.values():
        if case.opening is None:  # an existing incident: its score and suspicion, flushed with the commit
            case.incident.risk_score = max(case.incident.risk_score, case.risk_score)
            note_suspicion(case.incident, case.first_suspicious_at)
    write_command_rows(session, commands)
    return freezes


def _queue_freeze(session: Session, case: _Case, reason: str, now: datetime,
                  lease: Lease | None) -> list[dict[str, Any]]:
    """Move the case to freeze_pending and build its freeze and follow-ups' rows (the freeze first), as
    `ingest_anomaly` does through `containment.request_freeze` (a new incident was inserted already
    freeze_pending, and has no entity: its rows are built as such)."""
    freeze_as = {"scope": "full", "reason": reason, "actor": "risk-engine", "now": now, "lease": lease}
    if case.opening is not None:
        return containment.freeze_opened_rows(session, incident_id=case.id, account_id=case.opening["account_id"],
                                              reference=case.reference, **freeze_as)
    rows = containment.request_freeze_rows(session, case.incident, **freeze_as)
    if rows is None:  # `_decide` froze only a case in FREEZABLE, which the incident still is
        raise AssertionError(f"incident {case.id} was not freezable")
    return rows


def _answers(events: list[AnomalyInput], seen: dict[str, tuple[str, Any]], decided: dict[str, _Event],
             freezes: dict[str, dict[str, Any]]) -> list[AnomalyOutcome]:
    """What the sender is told about each event, in the order sent; an id repeated in the batch gets the
    first occurrence's answer, as a duplicate. A freeze written already claimed comes with its claim."""
    answers: list[AnomalyOutcome] = []
    answered: set[str] = set()
    for event in events:
        if event.event_id in seen:
            action, incident_id = seen[event.event_id]
            answers.append(AnomalyOutcome(event_id=event.event_id, action=action, incident_id=incident_id,
                                          duplicate=True))
            continue
        row = decided[event.event_id].row
        first = event.event_id not in answered
        answered.add(event.event_id)
        freeze = freezes.get(event.event_id) if first else None
        claim = Claim.of_values(freeze) if freeze is not None and freeze["status"] == "in_flight" else None
        answers.append(AnomalyOutcome(event_id=event.event_id, action=row["action"], incident_id=row["incident_id"],
                                      duplicate=not first, freeze_claim=claim))
    return answers


def _statement(session: Session, statements: dict[str, Any], rows: list[dict[str, Any]],
               columns: tuple[str, ...]) -> tuple[Any, Any]:
    """The statement for this database and its parameters: on PostgreSQL the rows as one array per column."""
    name = session.get_bind().dialect.name
    return (statements[name], by_column(rows, columns) if name == "postgresql" else rows)


_INCIDENTS, _EVENTS = Incident.__table__, AnomalyEvent.__table__
_INCIDENT_COLUMNS = ("id", "account_id", "kind", "source", "severity", "risk_score", "status", "containment", "queue",
                     "sla_due_at", "first_suspicious_at", "created_at", "updated_at")
_EVENT_COLUMNS = tuple(column.key for column in _EVENTS.columns)
_INSERT_UNLESS_OPEN = {
    "postgresql": unnest_insert(_INCIDENTS, _INCIDENT_COLUMNS)
    .on_conflict_do_nothing(index_elements=["account_id"], index_where=text(OPEN_INCIDENT_SQL))
    .returning(_INCIDENTS.c.id, _INCIDENTS.c.number),
    "sqlite": sqlite.insert(_INCIDENTS).on_conflict_do_nothing(index_elements=["account_id"],
                                                               index_where=text(OPEN_INCIDENT_SQL))
    .returning(_INCIDENTS.c.id, _INCIDENTS.c.number),
}
_INSERT_UNLESS_SEEN = {
    "postgresql": unnest_insert(_EVENTS, _EVENT_COLUMNS).on_conflict_do_nothing(index_elements=["event_id"])
    .returning(_EVENTS.c.event_id),
    "sqlite": sqlite.insert(_EVENTS).on_conflict_do_nothing(index_elements=["event_id"]).returning(_EVENTS.c.event_id),
}
