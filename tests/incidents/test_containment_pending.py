"""`request_freeze_rows` / `freeze_opened_rows`: the same move and audit as `request_freeze` / `freeze_opened`,
the commands built as rows for the caller to write at once instead of written one incident at a time."""
from __future__ import annotations

from sqlalchemy import func, select

from app.db import utcnow
from incidents import containment
from incidents.intake import open_or_attach, sla_due
from incidents.models import AuditEvent, ExchangeCommand
from incidents.outbox.commands import write_command_rows


def _opened(session, account_id: str, **fields):
    now = utcnow()
    return open_or_attach(session, account_id=account_id, now=now, new_incident={
        "kind": "anomaly", "source": "anomaly", "severity": "high", "sla_due_at": sla_due(now, 24),
        "queue": "risk", "created_at": now, "updated_at": now, **fields}).incident


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_the_rows_functions_build_the_freeze_and_follow_ups_and_write_none(session):
    watched = _opened(session, "P1")
    opened = _opened(session, "P2", **containment.OPENED_FREEZING)
    rows = containment.request_freeze_rows(session, watched, scope="full", reason="r", actor="risk-engine",
                                           now=utcnow())
    rows += containment.freeze_opened_rows(session, incident_id=opened.id, account_id=opened.account_id,
                                           reference=opened.reference, scope="full", reason="r", actor="risk-engine",
                                           now=utcnow())
    assert watched.containment == "freeze_pending"
    assert [(row["account_id"], row["action"]) for row in rows] == [
        ("P1", "freeze"), *(("P1", action) for action in containment.FOLLOW_UPS),
        ("P2", "freeze"), *(("P2", action) for action in containment.FOLLOW_UPS)]
    moved, fresh = rows[0], rows[1 + len(containment.FOLLOW_UPS)]
    assert _count(session, ExchangeCommand) == 0
    queued = session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "exchange.command.queued"))
    assert set(queued) == {str(moved["id"]), str(fresh["id"])}
    moves = session.scalars(select(AuditEvent.incident_id)
                            .where(AuditEvent.action == "incident.containment.freeze_pending"))
    assert set(moves) == {watched.id, opened.id}
    write_command_rows(session, rows)
    session.commit()
    assert _count(session, ExchangeCommand) == len(rows)


def test_an_incident_already_contained_gets_no_rows_and_no_move(session):
    contained = _opened(session, "P4", **containment.OPENED_FREEZING)
    assert containment.request_freeze_rows(session, contained, scope="full", reason="r", actor="risk-engine",
                                           now=utcnow()) is None
    assert containment.request_freeze(session, contained, scope="full", reason="r", actor="risk-engine") is None


def test_request_freeze_writes_the_commands_at_once(session):
    freeze = containment.request_freeze(session, _opened(session, "P3"), scope="full", reason="r",
                                        actor="risk-engine")
    session.flush()
    actions = session.scalars(select(ExchangeCommand.action).where(ExchangeCommand.incident_id == freeze.incident_id))
    assert sorted(actions) == sorted(["freeze", *containment.FOLLOW_UPS])
