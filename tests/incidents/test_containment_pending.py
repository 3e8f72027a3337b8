"""`request_freeze` / `freeze_opened` with `pending`: the same move and audit, the commands collected for the
caller to write at once instead of written one incident at a time."""
from __future__ import annotations

from sqlalchemy import func, select

from app.db import utcnow
from incidents import containment
from incidents.intake import open_or_attach, sla_due
from incidents.models import AuditEvent, ExchangeCommand
from incidents.outbox.commands import write_commands


def _opened(session, account_id: str, **fields):
    now = utcnow()
    return open_or_attach(session, account_id=account_id, now=now, new_incident={
        "kind": "anomaly", "source": "anomaly", "severity": "high", "sla_due_at": sla_due(now, 24),
        "queue": "risk", "created_at": now, "updated_at": now, **fields}).incident


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_pending_collects_the_freeze_and_follow_ups_and_writes_none(session):
    watched = _opened(session, "P1")
    opened = _opened(session, "P2", **containment.OPENED_FREEZING)
    pending: list[ExchangeCommand] = []
    moved = containment.request_freeze(session, watched, scope="full", reason="r", actor="risk-engine",
                                       pending=pending)
    fresh = containment.freeze_opened(session, opened, scope="full", reason="r", actor="risk-engine",
                                      now=utcnow(), pending=pending)
    assert watched.containment == "freeze_pending"
    assert [(command.account_id, command.action) for command in pending] == [
        ("P1", "freeze"), *(("P1", action) for action in containment.FOLLOW_UPS),
        ("P2", "freeze"), *(("P2", action) for action in containment.FOLLOW_UPS)]
    assert pending[0] is moved and pending[1 + len(containment.FOLLOW_UPS)] is fresh
    assert _count(session, ExchangeCommand) == 0
    queued = session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "exchange.command.queued"))
    assert set(queued) == {str(moved.id), str(fresh.id)}
    write_commands(session, pending)
    session.commit()
    assert _count(session, ExchangeCommand) == len(pending)


def test_without_pending_the_commands_are_written_at_once(session):
    freeze = containment.request_freeze(session, _opened(session, "P3"), scope="full", reason="r",
                                        actor="risk-engine")
    session.flush()
    actions = session.scalars(select(ExchangeCommand.action).where(ExchangeCommand.incident_id == freeze.incident_id))
    assert sorted(actions) == sorted(["freeze", *containment.FOLLOW_UPS])
