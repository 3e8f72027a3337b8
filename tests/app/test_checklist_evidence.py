"""The owner's recovery steps (a new password, a new authenticator) are ticked by the exchange's own security
events; a staff member who ticks one by hand must write the evidence, which is stored, audited and shown."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from incidents.models import AuditEvent
from tests.app.api_support import raise_over_http
from tests.factories import bearer, make_staff
from tests.incidents.review_support import frozen_case, pass_verification


def _attest(client, request_id, agent, item, **body):
    return client.post(f"/api/v1/unfreeze-requests/{request_id}/checklist/{item}",
                       json={"status": "done", **body}, headers=bearer(agent.token))


def _items(client, request_id, agent) -> dict:
    body = client.get(f"/api/v1/unfreeze-requests/{request_id}", headers=bearer(agent.token)).get_json()
    return {item["item"]: item for item in body["checklist"]}


@pytest.mark.parametrize("item", ["password_reset", "two_factor_rebound"])
def test_a_hand_tick_of_a_recovery_step_needs_the_evidence(app, client, item):
    case = frozen_case(app)
    pass_verification(app, case)
    request_id = raise_over_http(client, case).get_json()["id"]
    agent = make_staff(app, "agent")

    for body in ({}, {"note": None}, {"note": "   "}):
        refused = _attest(client, request_id, agent, item, **body)
        assert refused.status_code == 422 and "note" in refused.get_json()["errors"]
    assert _items(client, request_id, agent)[item]["status"] == "pending"

    ticked = _attest(client, request_id, agent, item, note="back office: password changed 10:02, seen on a call")
    assert ticked.status_code == 200
    stored = _items(client, request_id, agent)[item]
    assert stored["status"] == "done" and stored["note"] == "back office: password changed 10:02, seen on a call"
    with app.extensions["lockdesk"].sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "unfreeze.checklist.attested"))
        assert event.data["note"].startswith("back office") and event.data["item"] == item


def test_other_items_and_withdrawing_a_tick_need_no_note(app, client):
    case = frozen_case(app)
    pass_verification(app, case)
    request_id = raise_over_http(client, case).get_json()["id"]
    agent = make_staff(app, "agent")
    assert _attest(client, request_id, agent, "no_new_anomalies").status_code == 200
    assert _attest(client, request_id, agent, "password_reset", note="seen").status_code == 200
    withdrawn = client.post(f"/api/v1/unfreeze-requests/{request_id}/checklist/password_reset",
                            json={"status": "pending"}, headers=bearer(agent.token))
    assert withdrawn.status_code == 200 and _items(client, request_id, agent)["password_reset"]["status"] == "pending"
