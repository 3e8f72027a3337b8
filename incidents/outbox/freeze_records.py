"""The confirmed freezes of one batch (commands of incidents) recorded in one transaction, with the same rows and events as one by one.

`exchange._record_freeze_confirmed` writes one freeze's outcome in its own transaction: a locking read, an
UPDATE of the command and of its incident, the events, a commit. For a freeze batch of up to 500 that was
most of the worker's time; here the same writes go as one locking read of every command with its incident,
one batched UPDATE of the commands, one of the incidents, one INSERT of the events and one commit. A claim
lost meanwhile (its lease ran out and another worker took the command) is left alone, as one by one.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from incidents import audit
from incidents.models import ExchangeCommand, Incident
from incidents.outbox import effects, lease
from incidents.outbox.calls import CallResult, Claim
from incidents.states import can_transition, transition_rows

_COMMANDS, _INCIDENTS = ExchangeCommand.__table__, Incident.__table__
# Every command of the batch and its incident, locked in one order (the commands' ids) so two recorders
# never wait on each other crosswise.
_LOCK_FREEZES = (select(_COMMANDS.c.id, _COMMANDS.c.status, _COMMANDS.c.claim_token, _INCIDENTS.c.containment)
                 .join_from(_COMMANDS, _INCIDENTS, _INCIDENTS.c.id == _COMMANDS.c.incident_id)
                 .where(_COMMANDS.c.id.in_(bindparam("ids", expanding=True)))
                 .order_by(_COMMANDS.c.id).with_for_update())


def record_confirmed_freezes(session: Session, pairs: list[tuple[Claim, CallResult]], *, now: datetime,
                             actor: str) -> dict[uuid.UUID, tuple[str, str | None, float | None]]:
    """Write the confirmed freezes still held: command done, containment frozen (once), the audit events; one
    commit. Each command id → (outcome, containment, seconds from the request to the freeze); "stale" for a
    claim lost meanwhile."""
    rows = {row.id: row for row in session.execute(_LOCK_FREEZES, {"ids": [c.command_id for c, _ in pairs]})}
    recorded: dict[uuid.UUID, tuple[str, str | None, float | None]] = {}
    finished, moves = [], []
    for claim, result in pairs:
        row = rows.get(claim.command_id)
        if row is None or not lease.holds(row.status, row.claim_token, claim.token):
            recorded[claim.command_id] = ("stale", None, None)
            continue
        summary = effects.state_summary(result.answer)
        finished.append({"command_id": claim.command_id, "done_at": now, "answer": summary})
        if can_transition("containment", row.containment, "frozen"):
            moves.append((claim.incident_id, row.containment, f"exchange confirmed command {claim.command_id}"))
            recorded[claim.command_id] = ("done", "frozen", (now - claim.created_at).total_seconds())
        else:
            recorded[claim.command_id] = ("done", row.containment, None)
    if finished:
        session.execute(_FINISH_DONE, finished)
    if moves:  # the moves' events first, then the commands', as each single outcome records them
        transition_rows(session, moves=moves, machine="containment", to="frozen", actor="exchange", now=now)
    for claim, result in pairs:
        if recorded[claim.command_id][0] == "done":
            audit.record(session, actor=actor, action="exchange.command.done", subject_type="exchange_command",
                         subject_id=claim.command_id, incident_id=claim.incident_id,
                         data={"action": claim.action, "attempt": claim.attempts,
                               "result": effects.state_summary(result.answer)}, now=now)
    session.commit()
    return recorded


# The same move as `lease.finish(command, "done", …)`, as one Core UPDATE (sent once per command, batched).
_FINISH_DONE = (_COMMANDS.update().where(_COMMANDS.c.id == bindparam("command_id"))
                .values(lease.finished("done", completed_at=bindparam("done_at"), result=bindparam("answer"),
                                       last_error=None)))
