"""Schemathesis against the service's own OpenAPI document: no 5xx, answers as documented, auth not ignored.

Every operation of /api/v1/openapi.json is called with generated inputs on the Flask app (SQLite, and
PostgreSQL through the database fixture), once with an admin's staff token and once with a reporter's
incident token. All of schemathesis's default checks run on every answer.
"""
from __future__ import annotations

import os
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app import create_app
from tests.factories import bearer, exchange_account, report_body, staff_token

MAX_EXAMPLES = 6
# Inputs valid field by field may still be refused (422) by a rule the document cannot carry: a hash's form
# depends on its chain (0x for EVM chains, none for bitcoin), and a trace needs an explorer configured for
# its chain (a fact of the deployment), and a list's `cursor` is opaque: only one the list gave out is valid.
# An uploaded file's type is sniffed from its bytes, which no schema describes.
# Every other check still runs on these operations.
RUNTIME_VALIDATED = {("POST", "/api/v1/traces"), ("POST", "/api/v1/reports"), ("GET", "/api/v1/incidents"),
                     ("GET", "/api/v1/unfreeze-requests"), ("GET", "/api/v1/audit"),
                     ("GET", "/api/v1/incidents/{incident_id}/messages"),
                     ("POST", "/api/v1/incidents/{incident_id}/attachments")}


def excluded_checks(case) -> list:
    """Checks that cannot hold for an operation whose valid inputs depend on the deployment."""
    if (case.method.upper(), case.path) in RUNTIME_VALIDATED:
        return [positive_data_acceptance]
    return []


def served_document() -> tuple[dict, object]:
    """The OpenAPI document as the application serves it, and that application (built once, in a throwaway
    instance folder; each test then calls its own application)."""
    with tempfile.TemporaryDirectory() as folder:
        previous = os.environ.get("LOCKDESK_INSTANCE_PATH")
        os.environ["LOCKDESK_INSTANCE_PATH"] = folder
        try:
            application = create_app({"TESTING": True, "WORKER_ENABLED": False, "SECRET_KEY": "fuzz",
                                      "DATABASE_URL": f"sqlite:///{folder}/unused.sqlite"})
            document = application.test_client().get("/api/v1/openapi.json").get_json()
            application.extensions["lockdesk"].engine.dispose()
        finally:
            if previous is None:
                os.environ.pop("LOCKDESK_INSTANCE_PATH", None)
            else:
                os.environ["LOCKDESK_INSTANCE_PATH"] = previous
    return document, application


@pytest.fixture
def staff_headers(app) -> dict[str, str]:
    """An admin's staff token (admins hold every role)."""
    return bearer(staff_token(app, "admin"))


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
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_every_operation_answers_staff_as_documented(case, app, staff_headers):
    case.call_and_validate(app=app, headers=staff_headers, excluded_checks=excluded_checks(case))


@schema.parametrize()
@FUZZ
def test_every_operation_answers_a_reporter_as_documented(case, app, reporter_headers):
    case.call_and_validate(app=app, headers=reporter_headers, excluded_checks=excluded_checks(case))
