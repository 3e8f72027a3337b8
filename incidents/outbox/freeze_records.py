"""The one recorder of confirmed freezes: a batch's (or a single report's) in one transaction, in Core statements.

Every confirmed freeze, the outcome of every report, is written here: one locking read of every command with
its incident (if it has one), one batched UPDATE of the commands, one of the incidents, one INSERT of the
events and one commit; loading the entities and flushing them was most of a worker's time. A claim lost
meanwhile (its lease ran out and another worker took the command) is left alone. The audit event of a
command's outcome (`audit_outcome`) and the Core "done" move of a command (`FINISH_DONE`) live here too.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, null, select
from sqlalchemy.orm import Session

from app.db import is_postgresql, unnest_rows
from app.together import write_together
from incidents import audit
from incidents.models import ExchangeCommand, Incident
from incidents.outbox import effects, lease
from incidents.outbox.calls import CallResult, Claim
from incidents.states import audit_moves, can_transition, moves_update, update_rows

DISPATCHER = "exchange-dispatcher"  # the actor of the outbox's audit events
_COMMANDS, _INCIDENTS = ExchangeCommand.__table__, Incident.__table__
# Every command of the batch and its incident, locked in one order (the commands' ids) so two recorders
# never wait on each other crosswise. A command with no incident (none is written so today, the column allows
# it) is locked alone by a second statement: PostgreSQL locks no row of an outer join's nullable side.
_LOCK_FREEZES = (select(_COMMANDS.c.status, _COMMANDS.c.claim_token, _COMMANDS.c.id, _INCIDENTS.c.containment)
                 .join_from(_COMMANDS, _INCIDENTS, _INCIDENTS.c.id == _COMMANDS.c.incident_id)
                 .where(_COMMANDS.c.id.in_(bindparam("ids", expanding=True)))
                 .order_by(_COMMANDS.c.id).with_for_update())
_LOCK_WITHOUT_INCIDENT = (select(_COMMANDS.c.status, _COMMANDS.c.claim_token, _COMMANDS.c.id,
                                 null().label("containment"))
                          .where(_COMMANDS.c.id.in_(bindparam("ids", expanding=True)))
                          .order_by(_COMMANDS.c.id).with_for_update())


def _lock(session: Session, pairs: list[tuple[Claim, CallResult]]) -> dict[uuid.UUID, Any]:
    """The claimed commands (with their incidents' containment), locked; a statement only for the kinds present."""
    rows: dict[uuid.UUID, Any] = {}
    for statement, with_incident in ((_LOCK_FREEZES, True), (_LOCK_WITHOUT_INCIDENT, False)):
        ids = [claim.command_id for claim, _ in pairs if (claim.incident_id is not None) == with_incident]
        if ids:
            rows.update((row.id, row) for row in session.execute(statement, {"ids": ids}))
    return rows


def record_confirmed_freezes(session: Session, pairs: list[tuple[Claim, CallResult]], *,
                             now: datetime) -> dict[uuid.UUID, tuple[str, str | None, float | None]]:
    """Write the confirmed freezes still held: command done, containment frozen (once), the audit events; one
    commit. Each command id → (outcome, containment, seconds from the request to the freeze); "stale" for a
    claim lost meanwhile."""
    rows = _lock(session, pairs)
    recorded: dict[uuid.UUID, tuple[str, str | None, float | None]] = {}
    done: list[tuple[Claim, dict[str, Any]]] = []
    moves = []
    for claim, result in pairs:
        row = rows.get(claim.command_id)
        if row is None or not lease.holds(row.status, row.claim_token, claim.token):
            recorded[claim.command_id] = ("stale", None, None)
            continue
        summary = effects.state_summary(result.answer)
        done.append((claim, summary))
        if row.containment is not None and can_transition("containment", row.containment, "frozen"):
            moves.append((claim.incident_id, row.containment, f"exchange confirmed command {claim.command_id}"))
            recorded[claim.command_id] = ("done", "frozen", (now - claim.created_at).total_seconds())
        else:
            recorded[claim.command_id] = ("done", row.containment, None)
    if not _write_in_one_statement(session, done, moves, now):
        _finish_done(session, done, now)
        update_rows(session, moves=moves, machine="containment", to="frozen", now=now)
        _record_events(session, done, moves, now)  # one INSERT at the commit
    session.commit()
    expire_held(session, [claim for claim, _result in pairs])
    return recorded


def _write_in_one_statement(session: Session, done: list[tuple[Claim, dict[str, Any]]],
                            moves: list[tuple[uuid.UUID, str, str]], now: datetime) -> bool:
    """On PostgreSQL, when every incident moves from one state (a report's freeze always does): the commands' done
    moves, the incidents' move and their events in one statement (`app.together`), as `_finish_done`, `update_rows`
    and the commit would write them. False where it does not apply (SQLite, nothing done, moves from
    several states)."""
    currents = {current for _incident_id, current, _reason in moves}
    if not done or len(currents) > 1 or not is_postgresql(session):
        return False
    statements = [(_FINISH_ALL_DONE, {"done_at": now, "done_id": [claim.command_id for claim, _summary in done],
                                      "done_result": [summary for _claim, summary in done]})]
    if moves:
        statements.append((moves_update("containment", currents.pop(), "frozen"),
                           {"moved_ids": [incident_id for incident_id, _current, _reason in moves], "moved_at": now}))
    _record_events(session, done, moves, now)
    write_together(session.connection(), statements, [audit.take_pending(session)])
    return True


def _record_events(session: Session, done: list[tuple[Claim, dict[str, Any]]], moves: list[tuple[uuid.UUID, str, str]],
                   now: datetime) -> None:
    """The moves' events first, then the commands', as each single outcome records them."""
    audit_moves(session, moves=moves, machine="containment", to="frozen", actor="exchange", now=now)
    for claim, summary in done:
        audit_outcome(session, claim, "exchange.command.done", {"result": summary}, now)


def _finish_done(session: Session, done: list[tuple[Claim, dict[str, Any]]], now: datetime) -> None:
    """The commands' "done" moves, each with its answer's summary: on PostgreSQL one UPDATE … FROM unnest for all of
    them, else one UPDATE each (sent as a batch)."""
    if not done:
        return
    if is_postgresql(session):
        session.execute(_FINISH_ALL_DONE, {"done_at": now, "done_id": [claim.command_id for claim, _summary in done],
                                           "done_result": [summary for _claim, summary in done]})
    else:
        session.execute(FINISH_DONE, [{"command_id": claim.command_id, "answer": summary, "done_at": now}
                                      for claim, summary in done])


def audit_outcome(session: Session, claim: Claim, action: str, data: dict[str, Any], now: datetime) -> None:
    """One audit event per outcome of a claimed command (its attempt is the claim's: only a claim counts one)."""
    audit.record(session, actor=DISPATCHER, action=action, subject_type="exchange_command", subject_id=claim.command_id,
                 incident_id=claim.incident_id, data={"action": claim.action, "attempt": claim.attempts, **data},
                 now=now)


def expire_held(session: Session, claims: list[Claim]) -> None:
    """A caller's session that holds a command or incident a Core recorder wrote reads the committed row next time."""
    for claim in claims:
        for entity, key in ((ExchangeCommand, claim.command_id), (Incident, claim.incident_id)):
            held = session.identity_map.get(session.identity_key(entity, key)) if key is not None else None
            if held is not None:
                session.expire(held)


# The same move as `lease.finish(command, "done", …)`, as one Core UPDATE (sent once per command, batched).
FINISH_DONE = (_COMMANDS.update().where(_COMMANDS.c.id == bindparam("command_id"))
               .values(lease.finished("done", completed_at=bindparam("done_at"), result=bindparam("answer"),
                                      last_error=None)))
# ... and for many commands in one PostgreSQL statement, each with its own answer (arrays `done_id`, `done_result`).
_DONE = unnest_rows(_COMMANDS, ("id", "result"), "done", prefix="done_")
_FINISH_ALL_DONE = (_COMMANDS.update().where(_COMMANDS.c.id == _DONE.c.id)
                    .values(lease.finished("done", completed_at=bindparam("done_at"), result=_DONE.c.result,
                                           last_error=None)))
