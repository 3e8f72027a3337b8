"""Schemathesis against the service's own OpenAPI document: no 5xx, answers as documented, auth not ignored.

Every operation of /api/v1/openapi.json is called with generated inputs on the Flask app (SQLite, and
PostgreSQL through the database fixture), with the staff token of each role and with a reporter's incident
token. Every check schemathesis has runs on every answer (valid inputs are accepted, invalid ones refused,
answers match the document), save the one exclusion of the case conversation noted below.

The document says what it can of the deployment: the chains a trace may name are those with an explorer
(one is configured here). Client times must lie between 2009 and a few minutes from now, which a JSON
Schema date-time cannot say; the generator draws such times, as a client of this deployment would.
"""
from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as settings_
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks

from app import create_app
from app.db import utcnow
from tests.factories import bearer, exchange_account, report_body, make_staff

MAX_EXAMPLES = 5
# A chain with an explorer: traces on it are queued (the worker that would run them is off).
EXPLORER = {"ETH_RPC_URL": "http://127.0.0.1:9"}
load_all_checks()
ALL_CHECKS = CHECKS.get_all()
schemathesis.openapi.format("date-time", st.datetimes(
    min_value=datetime(2009, 1, 2), max_value=utcnow().replace(tzinfo=None), timezones=st.just(UTC)).map(
    lambda moment: moment.isoformat().replace("+00:00", "Z")))
# The case conversation's two operations keep one exclusion: a message list's cursor is still opaque, and an
# uploaded file's type is sniffed from its bytes, which no schema describes. Every other operation runs
# every check.
RUNTIME_VALIDATED = {("GET", "/api/v1/incidents/{incident_id}/messages"),
                     ("POST", "/api/v1/incidents/{incident_id}/attachments")}


def checks_for(case) -> list:
    """Every check, less positive_data_acceptance where valid inputs depend on what no schema says."""
    if (case.method.upper(), case.path) in RUNTIME_VALIDATED:
        return [check for check in ALL_CHECKS if check.__name__ != "positive_data_acceptance"]
    return ALL_CHECKS


@pytest.fixture
def settings(settings):
    """The test application with the explorer the document was built with."""
    return {**settings, **EXPLORER}


def served_document() -> tuple[dict, object]:
    """The OpenAPI document as the application serves it, and that application (built once, in a throwaway
    instance folder; each test then calls its own application)."""
    with tempfile.TemporaryDirectory() as folder:
        previous = os.environ.get("LOCKDESK_INSTANCE_PATH")
        os.environ["LOCKDESK_INSTANCE_PATH"] = folder
        try:
            application = create_app({"TESTING": True, "WORKER_ENABLED": False, "SECRET_KEY": "fuzz",
                                      "DATABASE_URL": f"sqlite:///{folder}/unused.sqlite", **EXPLORER})
            document = application.test_client().get("/api/v1/openapi.json").get_json()
            application.extensions["lockdesk"].engine.dispose()
        finally:
            if previous is None:
                os.environ.pop("LOCKDESK_INSTANCE_PATH", None)
            else:
                os.environ["LOCKDESK_INSTANCE_PATH"] = previous
    return document, application


@pytest.fixture(params=["agent", "risk_officer", "admin"])
def staff_headers(app, request) -> dict[str, str]:
    """A staff token of each role."""
    return make_staff(app, request.param).headers


@pytest.fixture
def reporter_headers(app, client) -> dict[str, str]:
    """The incident token a real report gave its owner."""
    exchange_account(app, "U-fuzz")
    answer = client.post("/api/v1/reports", json=report_body("U-fuzz"))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return bearer(answer.get_json()["access_token"])


DOCUMENT, DOCUMENT_APP = served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# WSGI transport: every call (and the ignored_auth probe) goes to the `app` a test passes, never the network.
schema.app = DOCUMENT_APP
schema.config.update(base_url="http://localhost")
FUZZ = settings_(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_every_operation_answers_staff_as_documented_under_every_check(case, app, staff_headers):
    case.call_and_validate(app=app, headers=staff_headers, checks=checks_for(case))


@schema.parametrize()
@FUZZ
def test_every_operation_answers_a_reporter_as_documented_under_every_check(case, app, reporter_headers):
    case.call_and_validate(app=app, headers=reporter_headers, checks=checks_for(case))
