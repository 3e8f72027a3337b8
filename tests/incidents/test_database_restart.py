"""PostgreSQL restarted under a running service: every pooled connection is gone at once. The next report
is answered as if nothing happened, and a freeze that was at the exchange meanwhile is recorded once."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from incidents.models import ExchangeCommand, Incident, Report
from tests import services
from tests.factories import report_body
from tests.incidents.exchange_peer import (
    backoffice_account,
    exchange_server,
    http_exchange_settings,
    open_account,
)

__all__ = ["exchange_server"]


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request):
    """PostgreSQL only: SQLite has no server to restart."""
    name = request.getfixturevalue("postgres_database")
    services.empty_database(name)
    yield services.postgres_url(name)


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def report(client, account_id: str):
    return client.post("/api/v1/reports", json={**report_body(), "account_id": account_id})


def test_a_report_after_a_restart_is_answered_and_nothing_before_it_is_lost(app, client, session, database_url):
    open_account(session, "U1001")
    open_account(session, "U1002")
    session.commit()
    first = report(client, "U1001")
    assert first.status_code == 201
    assert services.end_connections(database_name(database_url)) >= 1  # the pool's connections, the session's
    second = report(client, "U1002")
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["incident"]["containment"] == "frozen"
    session.rollback()  # its connection was ended too; the next statement takes a fresh one
    assert session.scalar(select(func.count()).select_from(Incident)) == 2
    assert session.scalar(select(func.count()).select_from(Report)) == 2


@pytest.fixture
def settings(settings, exchange_server):
    """The back office over HTTP, and a request that waits for the exchange as long as the test holds it."""
    settings.update(http_exchange_settings(exchange_server), FREEZE_WAIT_MS=30_000)
    return settings


def test_a_restart_while_the_freeze_is_at_the_exchange_loses_nothing_and_freezes_once(app, client, session,
                                                                                  exchange_server, database_url):
    open_account(session, "U1001")
    session.commit()
    exchange_server.faults.configure(hold_writes=True)
    answers = []
    request = threading.Thread(target=lambda: answers.append(report(client, "U1001")))
    request.start()
    try:
        assert exchange_server.faults.write_applied.wait(30)  # the exchange froze it; its answer is held
        assert services.end_connections(database_name(database_url)) >= 1
    finally:
        exchange_server.faults.configure(hold_writes=False)
        exchange_server.faults.release.set()
        request.join(60)
    assert answers and answers[0].status_code == 201, answers and answers[0].get_json()
    assert answers[0].get_json()["incident"]["containment"] == "frozen"
    session.rollback()
    freeze = session.scalar(select(ExchangeCommand).where(ExchangeCommand.action == "freeze"))
    assert (freeze.status, freeze.attempts) == ("done", 1)
    assert backoffice_account(session, "U1001").freezes == 1
    assert exchange_server.calls.keys_for("/freeze") == [str(freeze.id)]
