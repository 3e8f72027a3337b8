"""POST /api/v1/anomalies: signed, deduplicated, scored over a window, acted on by thresholds."""
import json
import time

import pytest
from sqlalchemy import select

from incidents.models import AnomalyEvent, ExchangeCommand, Incident
from tests.factories import report_body
from tests.app.anomaly_support import event, post, stored

NOW = "2026-11-21T03:12:00Z"


def test_a_low_score_event_is_ignored_but_remembered(client, session):
    answer = post(client, event(type_="new_device_login"))
    assert answer.status_code == 202
    assert answer.get_json() == {"event_id": "evt-1", "action": "ignored", "incident_id": None, "duplicate": False}
    assert stored(session, AnomalyEvent) == 1 and stored(session, Incident) == 0


def test_crossing_the_watch_threshold_opens_a_watch_incident_without_freezing(client, session):
    post(client, event("e1", type_="new_device_login"))
    answer = post(client, event("e2", type_="password_reset")).get_json()
    assert answer["action"] == "watch" and answer["incident_id"]
    incident = session.scalar(select(Incident))
    assert incident.containment == "none" and incident.source == "anomaly" and incident.risk_score == 45


def test_crossing_the_freeze_threshold_freezes_the_account(client, session):
    post(client, event("e1", type_="sim_swap"))
    answer = post(client, event("e2", type_="two_factor_changed")).get_json()
    assert answer["action"] == "frozen"
    incident = session.scalar(select(Incident))
    assert incident.containment in ("freeze_pending", "frozen")
    assert session.scalar(select(ExchangeCommand.action).where(ExchangeCommand.action == "freeze")) == "freeze"


def test_an_event_for_an_account_with_an_open_incident_attaches_to_it(client, session):
    report = client.post("/api/v1/reports", json=report_body("U2002")).get_json()
    answer = post(client, event("e1", type_="new_device_login")).get_json()
    assert answer["action"] == "attached" and answer["incident_id"] == report["incident"]["id"]
    assert stored(session, Incident) == 1


def test_an_event_id_seen_before_gets_200_and_the_first_answer_with_nothing_new_stored(client, session):
    first = post(client, event("dup", type_="sim_swap")).get_json()
    again = post(client, event("dup", type_="sim_swap"))
    assert again.status_code == 200
    assert again.get_json() == {**first, "duplicate": True}
    assert stored(session, AnomalyEvent) == 1


def test_an_unknown_type_is_accepted_and_ignored(client, session):
    answer = post(client, event(type_="moon_phase_changed"))
    assert answer.status_code == 202 and answer.get_json()["action"] == "ignored"


def test_events_outside_the_window_do_not_count(client):
    post(client, event("old", type_="sim_swap", occurred_at="2020-01-01T00:00:00Z"))
    answer = post(client, event("new", type_="two_factor_changed")).get_json()
    assert answer["action"] == "watch"


class TestConfiguredWeights:
    @pytest.fixture
    def settings(self, settings):
        settings.update(ANOMALY_WEIGHTS={"new_device_login": 100}, ANOMALY_FREEZE_THRESHOLD=90)
        return settings

    def test_weights_and_thresholds_come_from_configuration(self, client):
        assert post(client, event(type_="new_device_login")).get_json()["action"] == "frozen"


def test_a_signed_but_invalid_event_is_a_422_naming_the_field(client, session):
    response = post(client, {"event_id": "x", "account_id": "U1", "type": "sim_swap", "occurred_at": "yesterday"})
    assert response.status_code == 422 and "occurred_at" in response.get_json()["errors"]
    assert stored(session, AnomalyEvent) == 0


def test_a_signed_body_that_is_not_json_is_a_problem(client):
    raw = b"not json"
    from incidents.signatures import signature_header

    headers = {"X-Lockdesk-Signature": signature_header("whsec-test-secret", int(time.time()), raw),
               "Content-Type": "application/json"}
    response = client.post("/api/v1/anomalies", data=raw, headers=headers)
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    json.loads(response.get_data())
