"""FREEZE_WAIT_MS=0: a report commits its freeze and leaves it to the workers (Celery in production)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from incidents.models import ExchangeCommand
from tests.factories import report_body


@pytest.fixture
def settings(settings):
    settings["FREEZE_WAIT_MS"] = 0
    return settings


def test_the_report_answers_freeze_pending_without_claiming_the_command(app, client, session):
    woken: list[bool] = []
    dispatcher = app.extensions["lockdesk"].ports.dispatcher
    dispatcher.on_wake(lambda: woken.append(True))
    answer = client.post("/api/v1/reports", json=report_body())
    assert answer.status_code == 201 and answer.get_json()["incident"]["containment"] == "freeze_pending"
    freeze = select(ExchangeCommand).where(ExchangeCommand.action == "freeze")
    command = session.scalars(freeze).one()
    assert command.status == "pending" and command.claimed_by is None and woken == [True]
    session.rollback()  # on SQLite an open transaction holds the write lock the workers need
    assert dispatcher.drain() >= 1
    assert session.scalars(freeze).one().status == "done"
