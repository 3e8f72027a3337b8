"""Routes of API.md "Unfreeze review": who may ask, attest and decide; the queue; the owner's redacted view."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.db import utcnow
from tests.factories import bearer, make_staff
from tests.incidents.review_support import drain, frozen_case, incident_of, pass_verification
from tests.app.api_support import attest_over_http, decide_over_http, raise_over_http


@pytest.fixture
def case(app):
    return frozen_case(app)


def ready_request(app, client, case):
    pass_verification(app, case)
    created = raise_over_http(client, case)
    assert created.status_code == 201, created.get_json()
    agent = make_staff(app, "agent")
    for item in ("password_reset", "two_factor_rebound"):
        assert attest_over_http(client, created.get_json()["id"], agent, item).status_code == 200
    return created.get_json()["id"]


def test_unfreeze_before_verification_is_409(client, case):
    response = raise_over_http(client, case)
    assert response.status_code == 409 and response.content_type == "application/problem+json"
    assert "verification" in response.get_json()["detail"]


def test_staff_cannot_raise_the_owners_request(app, client, case):
    agent = make_staff(app, "agent")
    response = client.post(f"/api/v1/incidents/{case.incident_id}/unfreeze-requests", headers=bearer(agent.token))
    assert response.status_code == 403


def test_the_owner_raises_a_request_with_its_checklist(app, client, case):
    pass_verification(app, case)
    created = raise_over_http(client, case)
    body = created.get_json()
    assert created.status_code == 201 and body["status"] == "pending" and body["approvals_required"] == 1
    assert [item["item"] for item in body["checklist"]] == [
        "identity_verified", "password_reset", "sessions_revoked", "api_keys_revoked", "two_factor_rebound",
        "transactions_reviewed", "no_new_anomalies"]
    assert {item["item"]: item["status"] for item in body["checklist"]}["identity_verified"] == "done"
    assert body["decisions"] == [] and "raised_by" not in body
    assert raise_over_http(client, case).status_code == 409


def test_an_agent_deciding_is_403(app, client, case):
    request_id = ready_request(app, client, case)
    response = decide_over_http(client, request_id, make_staff(app, "agent"))
    assert response.status_code == 403


def test_the_same_officer_approving_twice_is_409(app, client):
    case = frozen_case(app, loss="99999")
    request_id = ready_request(app, client, case)
    officer = make_staff(app, "risk_officer")
    first = decide_over_http(client, request_id, officer)
    assert first.status_code == 200 and first.get_json()["approvals"] == 1
    assert first.get_json()["approvals_required"] == 2
    again = decide_over_http(client, request_id, officer, code=officer.code(utcnow() + timedelta(seconds=30)))
    assert again.status_code == 409


def test_a_wrong_step_up_code_is_refused_and_nothing_is_decided(app, client, case):
    request_id = ready_request(app, client, case)
    officer = make_staff(app, "risk_officer")
    wrong = "000000" if officer.code() != "000000" else "111111"
    response = decide_over_http(client, request_id, officer, code=wrong)
    assert response.status_code == 422 and response.get_json()["type"] == "/problems/wrong-code"
    detail = client.get(f"/api/v1/unfreeze-requests/{request_id}", headers=bearer(officer.token)).get_json()
    assert detail["decisions"] == [] and detail["status"] == "pending"


def test_an_approval_waits_for_the_minimum_wait_and_the_worker_carries_it_out(app, client, case):
    request_id = ready_request(app, client, case)
    officer = make_staff(app, "risk_officer")
    approved = decide_over_http(client, request_id, officer).get_json()
    assert approved["status"] == "approved" and approved["executes_at"]
    frozen_at = incident_of(app, case).frozen_at
    app.config["LOCKDESK_CLOCK"] = lambda: frozen_at + timedelta(minutes=121)
    app.extensions["lockdesk"].ports.review_jobs()
    drain(app, now=frozen_at + timedelta(minutes=121))
    app.extensions["lockdesk"].ports.review_jobs()
    detail = client.get(f"/api/v1/unfreeze-requests/{request_id}", headers=bearer(officer.token)).get_json()
    assert detail["status"] == "completed" and detail["withdrawal_cooldown_hours"] == 24
    incident = client.get(f"/api/v1/incidents/{case.incident_id}", headers=bearer(officer.token)).get_json()
    assert (incident["status"], incident["containment"]) == ("resolved", "unfrozen")
    assert incident["unfreeze_request"]["status"] == "completed"


def test_the_queue_lists_pending_requests_by_sla(app, client):
    agent = make_staff(app, "agent")
    ids = []
    for account in ("Q1", "Q2", "Q3"):
        case = frozen_case(app, account)
        pass_verification(app, case)
        ids.append(raise_over_http(client, case).get_json()["id"])
    seen, cursor = [], None
    while True:
        query = {"status": "pending", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/unfreeze-requests", query_string=query, headers=bearer(agent.token)).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert client.get("/api/v1/unfreeze-requests", headers=bearer(frozen_case(app, "Q4").access_token)).status_code == 403


def test_the_owner_reads_only_their_own_request_redacted(app, client, case):
    request_id = ready_request(app, client, case)
    own = client.get(f"/api/v1/unfreeze-requests/{request_id}", headers=bearer(case.access_token))
    assert own.status_code == 200 and "raised_by" not in own.get_json()
    assert all("by" not in item for item in own.get_json()["checklist"])
    other = frozen_case(app, "OTHER1")
    assert client.get(f"/api/v1/unfreeze-requests/{request_id}", headers=bearer(other.access_token)).status_code == 404


def test_an_unknown_checklist_item_is_404_and_a_bad_code_422(app, client, case):
    request_id = ready_request(app, client, case)
    agent, officer = make_staff(app, "agent"), make_staff(app, "risk_officer")
    assert attest_over_http(client, request_id, agent, "feelings").status_code == 404
    bad = client.post(f"/api/v1/unfreeze-requests/{request_id}/decisions",
                      json={"decision": "approve", "reason": "ok", "totp": "１２３４５６"}, headers=bearer(officer.token))
    assert bad.status_code == 422 and "totp" in bad.get_json()["errors"]
