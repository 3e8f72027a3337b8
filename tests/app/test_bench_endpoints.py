"""The bench's reference endpoints: the floor and the bare report, on both databases, over a real HTTP peer."""
import pytest
from sqlalchemy import text

from app import create_app
from tests.incidents.exchange_peer import (
    backoffice_account,
    exchange_server,
    http_exchange_settings,
    keyed_writes,
    open_account,
)

__all__ = ["exchange_server"]


@pytest.fixture
def settings(settings, request):
    """The bench's endpoints on, and the HTTP back office for the tests that use it."""
    settings["BENCH_FLOOR"] = "1"
    if "exchange_server" in request.fixturenames:
        settings.update(http_exchange_settings(request.getfixturevalue("exchange_server")))
    return settings


def floor_rows(session) -> list[tuple]:
    """The rows the endpoints wrote (no model maps the table)."""
    rows = session.execute(text("SELECT id, created_at FROM bench_floor ORDER BY id")).all()
    session.rollback()
    return rows


def test_the_floor_writes_one_row(client, session):
    assert client.post("/api/v1/_bench/floor").status_code == 201
    assert len(floor_rows(session)) == 1


def test_the_bare_report_freezes_the_account_once_and_records_its_command(client, session, exchange_server):
    open_account(session, "U7001")
    response = client.post("/api/v1/_bench/bare-report", json={"account_id": "U7001"})
    assert response.status_code == 201 and response.get_json()["incident"]["containment"] == "frozen"
    account = backoffice_account(session, "U7001")
    assert account.state == "frozen" and account.freezes == 1 and keyed_writes(session, "freeze") == 1
    report, command = floor_rows(session)
    assert command.created_at > report.created_at  # the command's row carries the exchange's answer time


@pytest.mark.parametrize("body", [{}, {"account_id": ""}, {"account_id": 7}, ["U7001"], {"account_id": "U" * 65}])
def test_a_bare_report_without_an_account_is_refused_and_writes_nothing(client, session, exchange_server, body):
    response = client.post("/api/v1/_bench/bare-report", json=body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert "account_id" in response.get_json()["errors"]
    assert floor_rows(session) == [] and keyed_writes(session, "freeze") == 0


def test_an_unknown_account_is_the_exchange_s_problem_not_a_500(client, session, exchange_server):
    response = client.post("/api/v1/_bench/bare-report", json={"account_id": "GHOST"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("exchange-account-not-found")


def test_without_the_setting_neither_endpoint_exists(settings, instance, monkeypatch):
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    application = create_app({name: value for name, value in settings.items() if name != "BENCH_FLOOR"})
    try:
        client = application.test_client()
        assert client.post("/api/v1/_bench/floor").status_code == 404
        assert client.post("/api/v1/_bench/bare-report", json={"account_id": "U7001"}).status_code == 404
    finally:
        application.extensions["lockdesk"].engine.dispose()
