"""Staff reopen a case the exchange's 404 closed: in_progress with a fresh SLA, the account frozen again through
the outbox exactly once (a second call is a 409 and writes nothing), the reopening audited, the owner's view open."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from incidents.models import AuditEvent, ExchangeCommand, Incident
from tests.factories import bearer, exchange_account, report_body, make_staff


def _read(app, query):
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(query)


def _freezes(app, incident_id: str) -> int:
    return _read(app, select(func.count()).select_from(ExchangeCommand).where(
        ExchangeCommand.incident_id == uuid.UUID(incident_id), ExchangeCommand.action == "freeze"))


def _closed_as_unknown(client, account_id: str) -> tuple[str, dict]:
    answer = client.post("/api/v1/reports", json=report_body(account_id)).get_json()
    incident = _read(client.application, select(Incident).where(Incident.id == uuid.UUID(answer["incident"]["id"])))
    assert (incident.status, incident.outcome, incident.containment) == ("closed", "account_unknown", "freeze_failed")
    return answer["incident"]["id"], bearer(answer["access_token"])


def test_reopening_a_case_closed_as_account_unknown_freezes_the_account_once(client, app):
    incident_id, owner = _closed_as_unknown(client, "U7301")
    exchange_account(app, "U7301")  # the exchange knows the account now (say it was still being created)
    agent = make_staff(app, "agent").headers

    answer = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "the owner confirmed the ID"},
                         headers=agent)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "in_progress" and answer.get_json()["containment"] == "frozen"
    again = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "clicked twice"}, headers=agent)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert _freezes(app, incident_id) == 2  # the report's refused freeze and the reopening's one, no more

    incident = _read(app, select(Incident).where(Incident.id == uuid.UUID(incident_id)))
    assert (incident.status, incident.outcome, incident.closed_at) == ("in_progress", None, None)
    event = _read(app, select(AuditEvent).where(AuditEvent.incident_id == uuid.UUID(incident_id),
                                                AuditEvent.action == "incident.reopened"))
    assert event.data["reason"] == "the owner confirmed the ID" and event.data["freeze_requested"] is True
    assert event.data["outcome_before"] == "account_unknown" and event.actor.startswith("staff:")
    seen = client.get(f"/api/v1/incidents/{incident_id}", headers=owner).get_json()
    assert (seen["status"], seen["containment"]) == ("in_progress", "frozen")


def test_reopening_refuses_a_blank_reason_an_open_case_and_an_owner(client, app):
    incident_id, owner = _closed_as_unknown(client, "U7302")
    agent = make_staff(app, "agent").headers
    blank = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "   "}, headers=agent)
    assert blank.status_code == 422 and "reason" in blank.get_json()["errors"]
    assert client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "x"},
                       headers=owner).status_code in (401, 403)
    assert _read(app, select(Incident.status).where(Incident.id == uuid.UUID(incident_id))) == "closed"
    assert _freezes(app, incident_id) == 1

    exchange_account(app, "U7303")
    open_case = client.post("/api/v1/reports", json=report_body("U7303")).get_json()["incident"]["id"]
    refused = client.post(f"/api/v1/incidents/{open_case}/reopen", json={"reason": "x"}, headers=agent)
    assert refused.status_code == 409 and refused.get_json()["status_now"] == "open"


def test_a_newer_open_case_of_the_account_wins_over_a_reopening(client, app):
    incident_id, _owner = _closed_as_unknown(client, "U7304")
    exchange_account(app, "U7304")
    newer = client.post("/api/v1/reports", json=report_body("U7304")).get_json()["incident"]["id"]
    assert newer != incident_id
    agent = make_staff(app, "agent").headers
    refused = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "x"}, headers=agent)
    assert refused.status_code == 409 and refused.get_json()["incident_id"] == newer
    assert _read(app, select(Incident.status).where(Incident.id == uuid.UUID(incident_id))) == "closed"


def test_a_case_frozen_before_is_reopened_without_a_new_freeze(client, app):
    exchange_account(app, "U7305")
    answer = client.post("/api/v1/reports", json=report_body("U7305")).get_json()
    incident_id = answer["incident"]["id"]
    agent = make_staff(app, "agent").headers
    client.post(f"/api/v1/incidents/{incident_id}/transitions", json={"to": "closed", "reason": "dup"}, headers=agent)
    reopened = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "not a duplicate"},
                           headers=agent)
    assert reopened.status_code == 200 and reopened.get_json()["containment"] == "frozen"
    assert _freezes(app, incident_id) == 1


def test_reopening_an_account_the_exchange_still_does_not_know_closes_it_again_and_says_so(client, app):
    incident_id, _owner = _closed_as_unknown(client, "U7306")
    agent = make_staff(app, "agent").headers
    answer = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "the owner insists"},
                         headers=agent)
    assert answer.status_code == 200 and answer.get_json()["status"] == "closed"  # the exchange's 404, again
    assert answer.get_json()["containment"] == "freeze_failed" and _freezes(app, incident_id) == 2
    incident = _read(app, select(Incident).where(Incident.id == uuid.UUID(incident_id)))
    assert incident.outcome == "account_unknown"



def test_a_risk_officer_reopens_and_the_reason_is_at_most_2000_characters(client, app):
    incident_id, _owner = _closed_as_unknown(client, "U7307")
    exchange_account(app, "U7307")
    officer = make_staff(app, "risk_officer").headers
    too_long = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "x" * 2001}, headers=officer)
    assert too_long.status_code == 422 and "reason" in too_long.get_json()["errors"]
    assert _read(app, select(Incident.status).where(Incident.id == uuid.UUID(incident_id))) == "closed"
    reopened = client.post(f"/api/v1/incidents/{incident_id}/reopen", json={"reason": "the owner called"},
                           headers=officer)
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "in_progress"
    event = _read(app, select(AuditEvent).where(AuditEvent.incident_id == uuid.UUID(incident_id),
                                                AuditEvent.action == "incident.reopened"))
    assert event.data["reason"] == "the owner called"


def test_reopen_case_itself_refuses_a_blank_reason_before_reading_anything(app):
    from incidents.reopening import reopen_case
    from kernel.errors import InvalidInput

    with app.extensions["lockdesk"].sessions() as session:
        for reason, said in (("  \n ", "reason: must not be blank"),
                             ("x" * 2001, "reason: is longer than 2000 characters")):
            with pytest.raises(InvalidInput) as refused:
                reopen_case(session, incident_id=uuid.uuid4(), reason=reason, actor="staff:x", sla_hours=24)
            assert refused.value.detail == said
