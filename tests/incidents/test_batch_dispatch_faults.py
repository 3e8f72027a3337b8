"""Batch dispatch under faults, on PostgreSQL: a worker killed holding a claimed batch, the exchange down during
a batch, the database's connections ended mid-wave. Every time: nothing lost, nothing frozen twice."""
from __future__ import annotations

import signal
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.db import utcnow
from incidents.exchange.breaker import CircuitBreaker
from incidents.models import AuditEvent, ExchangeCommand, Incident
from incidents.outbox.dispatcher import Dispatcher
from incidents.outbox.lease import DispatchPolicy
from tests import services
from tests.incidents.exchange_peer import (
    backoffice_account,
    exchange_server,
    http_exchange_settings,
    keyed_writes,
    open_account,
)
from tests.incidents.outbox_support import flag, statuses
from tests.incidents.exchange_peer import client_for
from tests.incidents.outbox_support import wait_until, worker_process

__all__ = ["exchange_server"]
ACCOUNTS = [f"F{n}" for n in range(6)]
POLICY = DispatchPolicy(lease_seconds=2.0, backoff_base_seconds=0.01, backoff_cap_seconds=0.05)
LATER = timedelta(minutes=10)  # past any lease and backoff of POLICY


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request):
    """PostgreSQL only: the row locks, SKIP LOCKED and a server whose connections can be ended."""
    name = request.getfixturevalue("postgres_database")
    services.empty_database(name)
    yield services.postgres_url(name)


@pytest.fixture
def settings(settings, exchange_server):
    """The application (and its worker processes) speak HTTP to the back office."""
    settings.update(http_exchange_settings(exchange_server))
    return settings


@pytest.fixture
def wave(session):
    """Six accounts at the exchange, each flagged: six freezes (and their follow-ups) due."""
    for account in ACCOUNTS:
        open_account(session, account)
    session.commit()
    flag(session, ACCOUNTS)
    session.commit()
    return ACCOUNTS


def dispatcher(app, exchange_server, **adapter) -> Dispatcher:
    """An in-process dispatcher of the test database over HTTP."""
    return Dispatcher(app.extensions["lockdesk"].sessions, client_for(exchange_server, **adapter), policy=POLICY,
                      concurrency=2, name="in-process")


def assert_frozen_once(session, exchange_server, accounts: list[str]) -> None:
    """Every account frozen exactly once at the exchange, every freeze done once, every case frozen once."""
    assert statuses(session, "freeze") == {"done": len(accounts)}
    assert [backoffice_account(session, a).freezes for a in accounts] == [1] * len(accounts)
    assert keyed_writes(session, "freeze") == len(accounts)
    session.rollback()
    assert set(session.scalars(select(Incident.containment))) == {"frozen"}
    frozen_events = session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "incident.containment.frozen"))
    assert frozen_events == len(accounts)
    session.rollback()


def freeze_attempts(session) -> list[int]:
    """The attempts of each freeze command."""
    session.rollback()
    attempts = list(session.scalars(select(ExchangeCommand.attempts).where(ExchangeCommand.action == "freeze")))
    session.rollback()
    return attempts


@pytest.mark.slow
def test_a_worker_killed_holding_a_claimed_batch_loses_nothing_and_freezes_nothing_twice(
        app, session, settings, instance, exchange_server, wave, tmp_path):
    exchange_server.faults.configure(hold_writes=True)  # the batch commits at the exchange; its answer is held
    log = tmp_path / "worker.log"
    first = worker_process(settings, instance, log)
    try:
        assert wait_until(lambda: all(backoffice_account(session, a).state == "frozen" for a in wave)), \
            log.read_text()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert statuses(session, "freeze") == {"in_flight": len(wave)}  # the exchange acted; the outbox never heard
    assert exchange_server.calls.keys_for("/freeze-batch") == [None]
    exchange_server.faults.configure(hold_writes=False)
    exchange_server.faults.release.set()
    second = worker_process(settings, instance, log)
    try:
        assert wait_until(lambda: statuses(session, "freeze") == {"done": len(wave)}), log.read_text()
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert freeze_attempts(session) == [2] * len(wave)  # taken over once the dead worker's lease ran out
    assert len(exchange_server.calls.keys_for("/freeze-batch")) == 2  # sent again as a batch, the same keys
    assert_frozen_once(session, exchange_server, wave)


def test_an_exchange_down_during_a_batch_is_retried_later_with_the_same_keys(app, session, exchange_server, wave):
    # The adapter's circuit breaker opens once enough calls (the batch, an item, the follow-ups sent beside the
    # freezes) have failed; "later" is past its cool-down too, on a clock the test moves.
    seconds = [0.0]
    sender = dispatcher(app, exchange_server, attempts=1, breaker=CircuitBreaker(clock=lambda: seconds[0]))
    try:
        exchange_server.faults.configure(fail_next=1000, fail_status=503)
        sender.dispatch_due()
        assert statuses(session, "freeze") == {"pending": len(wave)}  # nothing frozen, nothing lost
        assert exchange_server.calls.keys_for("/freeze-batch") == [None]
        assert len(exchange_server.calls.keys_for("/freeze")) == 1  # one item alone found it down: the rest wait
        exchange_server.faults.configure(fail_next=0)
        seconds[0] += LATER.total_seconds()
        sender.drain(now=utcnow() + LATER)
    finally:
        sender.shutdown()
    assert len(exchange_server.calls.keys_for("/freeze-batch")) == 2
    assert_frozen_once(session, exchange_server, wave)


def test_the_database_s_connections_ended_mid_wave_lose_nothing_and_freeze_nothing_twice(
        app, session, exchange_server, wave, database_url):
    exchange_server.faults.configure(hold_writes=True)
    sender = dispatcher(app, exchange_server, read_timeout=60.0)
    running = threading.Thread(target=sender.dispatch_due)
    running.start()
    try:
        assert exchange_server.faults.write_applied.wait(30)  # the batch froze the accounts; its answer is held
        assert services.end_connections(database_url.rsplit("/", 1)[1]) >= 1
    finally:
        exchange_server.faults.configure(hold_writes=False)
        exchange_server.faults.release.set()
        running.join(60)
    try:
        sender.drain(now=utcnow() + LATER)  # whatever the ended connections kept from being recorded
    finally:
        sender.shutdown()
    session.rollback()
    assert_frozen_once(session, exchange_server, wave)
