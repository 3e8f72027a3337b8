"""The one way to write an exchange command: built by `new_command` (or `command_row`, as plain columns), written
by `write_commands` (or `write_command_rows`)."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.db import insert_rows, new_id
from app.together import Rows
from incidents.models import ExchangeCommand, Incident
from incidents.outbox.states import INITIAL


def command_row(*, incident_id: uuid.UUID, account_id: str, action: str, payload: dict[str, Any],
                now: datetime) -> dict[str, Any]:
    """The columns of one pending outbox row for an incident's account (every column but `result`)."""
    return {"id": new_id(), "incident_id": incident_id, "account_id": account_id, "action": action,
            "payload": payload, "status": INITIAL, "attempts": 0, "next_attempt_at": now, "created_at": now,
            "claim_token": None, "claimed_by": None, "claimed_until": None, "last_error": None, "completed_at": None}


def new_command(incident: Incident, action: str, payload: dict[str, Any], *, now: datetime) -> ExchangeCommand:
    """One pending outbox row for the incident's account, not yet written (a fast path may claim it first)."""
    return ExchangeCommand(**command_row(incident_id=incident.id, account_id=incident.account_id, action=action,
                                         payload=payload, now=now))


# Every column but `result`, which a new command leaves NULL (given as None, JSON would store `null`).
_WRITTEN = tuple(column.key for column in ExchangeCommand.__table__.columns if column.key != "result")


def write_command_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows built by `command_row` in the caller's transaction, with one statement (`insert_rows`);
    the session holds no object for them (a wave's thousands of commands)."""
    insert_rows(session.connection(), ExchangeCommand.__table__, rows, _WRITTEN)


def write_commands(session: Session, commands: list[ExchangeCommand]) -> None:
    """Insert the rows with one Core statement, then let the session hold them as persistent objects.

    Cheaper than the unit of work's flush, which spent more CPU ordering and collecting two rows than
    the database spent writing them; the objects are what `session.add` and a flush would have left.
    """
    write_command_rows(session, command_part(commands).rows)
    adopt_commands(session, commands)


def command_part(commands: list[ExchangeCommand]) -> Rows:
    """The commands' rows, for a caller that writes them with other tables' rows (`app.together`)."""
    return Rows(ExchangeCommand.__table__, [{key: getattr(command, key) for key in _WRITTEN} for command in commands],
                _WRITTEN)


def adopt_commands(session: Session, commands: list[ExchangeCommand]) -> None:
    """Let the session hold just-written commands as persistent objects."""
    for command in commands:
        make_transient_to_detached(command)
        session.add(command)
        set_committed_value(command, "result", None)


def queue_command(session: Session, incident: Incident, action: str, payload: dict[str, Any], *,
                  now: datetime) -> ExchangeCommand:
    """Write one pending command for the incident's account in the caller's transaction."""
    command = new_command(incident, action, payload, now=now)
    write_commands(session, [command])
    return command
