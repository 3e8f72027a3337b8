"""Steps of the API tests, each one HTTP call: the verification's start, the unfreeze request and its review."""
from __future__ import annotations

from tests.factories import bearer


def settle(app) -> None:
    """Let the worker run the freeze's follow-ups (account snapshot, withdrawals)."""
    app.extensions["lockdesk"].ports.dispatcher.drain()


def start(client, incident_id, headers) -> dict:
    """Start a verification on the incident (201); its body."""
    response = client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def raise_over_http(client, case):
    """The reporter asks for the unfreeze."""
    return client.post(f"/api/v1/incidents/{case.incident_id}/unfreeze-requests", headers=bearer(case.access_token))


def attest_over_http(client, request_id, agent, item):
    """An agent ticks a checklist item, with a note."""
    return client.post(f"/api/v1/unfreeze-requests/{request_id}/checklist/{item}",
                       json={"status": "done", "note": "checked with the owner"}, headers=bearer(agent.token))


def decide_over_http(client, request_id, officer, decision="approve", code=None):
    """A risk officer decides, with the step-up code."""
    return client.post(f"/api/v1/unfreeze-requests/{request_id}/decisions",
                       json={"decision": decision, "reason": "evidence reviewed", "totp": code or officer.code()},
                       headers=bearer(officer.token))
