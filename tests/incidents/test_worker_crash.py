"""A worker process killed after the exchange froze the account but before the outbox row was marked done."""
from __future__ import annotations

import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from incidents.intake import ReportInput, submit_report
from incidents.models import AuditEvent, ExchangeCommand
from tests.incidents.exchange_peer import (
    backoffice_account,
    exchange_server,
    http_exchange_settings,
    keyed_writes,
    open_account,
)
from tests.incidents.outbox_support import wait_until, worker_process

__all__ = ["exchange_server"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings, exchange_server):
    """The application (and its worker processes) speak HTTP to the back office."""
    settings.update(http_exchange_settings(exchange_server))
    return settings


def freeze_row(session) -> ExchangeCommand:
    """The freeze command as stored now (no transaction left open: SQLite has one writer)."""
    session.rollback()
    row = session.scalar(select(ExchangeCommand).where(ExchangeCommand.action == "freeze")
                         .execution_options(populate_existing=True))
    session.expunge(row)
    session.rollback()
    return row


@pytest.mark.slow
def test_a_killed_worker_s_freeze_is_finished_once_by_the_next_worker(app, session, settings, instance,
                                                                      exchange_server, tmp_path):
    open_account(session)
    submit_report(session, report=ReportInput(account_id="U1001", kind="stolen_account"))
    exchange_server.faults.configure(hold_writes=True)
    log = tmp_path / "worker.log"
    first = worker_process(settings, instance, log)
    try:
        assert wait_until(lambda: backoffice_account(session, "U1001").state == "frozen"), log.read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert freeze_row(session).status == "in_flight"  # the exchange acted; the outbox never heard back
    exchange_server.faults.configure(hold_writes=False)
    exchange_server.faults.release.set()
    second = worker_process(settings, instance, log)
    try:
        assert wait_until(lambda: freeze_row(session).status == "done"), log.read_text()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    command = freeze_row(session)
    assert command.attempts == 2
    assert backoffice_account(session, "U1001").freezes == 1 and keyed_writes(session, "freeze") == 1
    assert set(exchange_server.calls.keys_for("/freeze")) == {str(command.id)}
    frozen_events = session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "incident.containment.frozen"))
    done_events = session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "exchange.command.done", AuditEvent.subject_id == str(command.id)))
    assert (frozen_events, done_events) == (1, 1)
