"""A freeze whose outcome cannot be recorded on the request's fast path: the report, committed already, still
answers 201 with its access token (freeze pending), and a worker records the freeze once its lease lapses."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.db import utcnow
from incidents.models import AuditEvent, ExchangeCommand, Incident
from incidents.outbox import exchange
from tests.factories import bearer, report_body


def test_a_recorder_that_raises_still_answers_201_freeze_pending_and_a_worker_freezes_it_once(app, client,
                                                                                               session, monkeypatch):
    def database_down(*_args, **_kwargs):
        raise RuntimeError("database down while recording")

    monkeypatch.setitem(exchange.RECORDERS, ("freeze", "done"), database_down)
    answer = client.post("/api/v1/reports", json=report_body())
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["incident"]["containment"] == "freeze_pending"
    view = client.get(f"/api/v1/incidents/{body['incident']['id']}", headers=bearer(body["access_token"]))
    assert view.status_code == 200

    monkeypatch.undo()
    session.rollback()
    dispatcher = app.extensions["lockdesk"].ports.dispatcher
    dispatcher.drain(now=utcnow() + timedelta(seconds=dispatcher.policy.lease_seconds + 1))
    freeze = session.scalars(select(ExchangeCommand).where(ExchangeCommand.action == "freeze")).one()
    assert freeze.status == "done"
    assert session.scalar(select(Incident.containment).where(Incident.id == freeze.incident_id)) == "frozen"
    done_events = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "exchange.command.done", AuditEvent.subject_id == str(freeze.id))
    assert session.scalar(done_events) == 1
