"""DESIGN.md §6 rules and API.md answers that other tests reached only below HTTP, proven over it."""
import time
from datetime import timedelta
from unittest import mock

import pyotp
import pytest
from sqlalchemy import func, select

from app.db import utcnow
from app.idempotency import purge_expired
from incidents.anomalies import AnomalyInput, ScoringPolicy, ingest_anomaly
from incidents.models import AnomalyEvent
from incidents.signatures import sign
from tests.app.anomaly_support import event, post
from tests.app.api_support import settle, start
from tests.factories import OWNER_TOTP_SECRET, bearer, last_sms_code, report_body, make_staff


def test_webhook_event_ids_are_remembered_after_24_hours(session):
    """§6: event ids remembered ≥ 24 h (they are kept with the event, never purged)."""
    sent = AnomalyInput(event_id="old-1", account_id="U2002", type="sim_swap", occurred_at=utcnow())
    first = ingest_anomaly(session, event=sent, policy=ScoringPolicy())
    again = ingest_anomaly(session, event=sent, policy=ScoringPolicy(), now=utcnow() + timedelta(hours=25))
    assert again.duplicate is True and again.action == first.action
    assert session.scalar(select(func.count()).select_from(AnomalyEvent)) == 1


def test_an_idempotency_key_is_kept_24_hours_then_free_for_a_new_body(client, session):
    """API.md: same key + other body → 422 while kept; after 24 h the key is purged and usable again."""
    client.post("/api/v1/reports", json=report_body(), headers={"Idempotency-Key": "day-1"})
    assert purge_expired(session, now=utcnow() + timedelta(hours=23)) == 0
    other = report_body("U2002")
    assert client.post("/api/v1/reports", json=other, headers={"Idempotency-Key": "day-1"}).status_code == 422
    assert purge_expired(session, now=utcnow() + timedelta(hours=24, minutes=1)) == 1
    assert client.post("/api/v1/reports", json=other, headers={"Idempotency-Key": "day-1"}).status_code == 201


def test_several_v1_signatures_are_accepted_over_http_during_rotation(client):
    raw = b'{"event_id":"rot-1","account_id":"U2002","type":"new_device_login","occurred_at":"%s"}' % (
        utcnow().isoformat().replace("+00:00", "Z").encode())
    t = int(time.time())
    header = f"t={t},v1={sign('retired-secret', t, raw)},v1={sign('whsec-test-secret', t, raw)}"
    answer = client.post("/api/v1/anomalies", data=raw,
                         headers={"X-Lockdesk-Signature": header, "Content-Type": "application/json"})
    assert answer.status_code == 202 and answer.get_json()["event_id"] == "rot-1"


def test_forbidden_not_found_and_conflict_are_their_problem_types(client, app):
    agent = make_staff(app, "agent").headers
    assert client.get("/api/v1/audit", headers=agent).get_json()["type"] == "/problems/forbidden"
    missing = client.get("/api/v1/incidents/00000000-0000-0000-0000-000000000000", headers=agent)
    assert missing.get_json()["type"] == "/problems/not-found"
    incident = client.post("/api/v1/reports", json=report_body()).get_json()["incident"]
    again = client.post(f"/api/v1/incidents/{incident['id']}/freeze", json={"reason": "twice"}, headers=agent)
    assert again.status_code == 409 and again.get_json()["type"] == "/problems/conflict"


def test_the_queue_filters_by_containment_and_status(client, app):
    agent = make_staff(app, "agent").headers
    frozen = client.post("/api/v1/reports", json=report_body("U1001")).get_json()["incident"]
    post(client, event("w1", account_id="WATCH-1", type_="sim_swap"))  # a watch incident, not frozen
    items = client.get("/api/v1/incidents?containment=frozen", headers=agent).get_json()["items"]
    assert [item["id"] for item in items] == [frozen["id"]]
    client.post(f"/api/v1/incidents/{frozen['id']}/transitions", json={"to": "closed"}, headers=agent)
    closed = client.get("/api/v1/incidents?status=closed&sort=sla_due_at", headers=agent).get_json()["items"]
    assert [item["id"] for item in closed] == [frozen["id"]]


@pytest.fixture
def reported(app, client):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    settle(app)
    return answer["incident"]["id"], bearer(answer["access_token"])


def test_an_expired_sms_code_is_410_code_expired(app, client, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    client.post(f"/api/v1/verifications/{vid}/sms", headers=owner)
    code = last_sms_code(app)
    # The server's clock ten minutes and one second on (verification reads time through this one function).
    with mock.patch("verification.authenticators.utcnow", return_value=utcnow() + timedelta(minutes=10, seconds=1)):
        answer = client.post(f"/api/v1/verifications/{vid}/sms/check", json={"code": code}, headers=owner)
    assert answer.status_code == 410 and answer.get_json()["type"] == "/problems/code-expired"


def test_five_wrong_totp_codes_lock_the_factor_429_too_many_attempts(client, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    right = pyotp.TOTP(OWNER_TOTP_SECRET).now()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        client.post(f"/api/v1/verifications/{vid}/totp", json={"code": wrong}, headers=owner)
    locked = client.post(f"/api/v1/verifications/{vid}/totp", json={"code": right}, headers=owner)
    assert locked.status_code == 429 and locked.get_json()["type"] == "/problems/too-many-attempts"


def test_the_owners_totp_secret_is_never_in_an_api_answer(app, client, reported):
    """§6: TOTP secrets never returned by any API."""
    incident_id, owner = reported
    staff = make_staff(app, "admin").headers
    vid = start(client, incident_id, owner)["id"]
    answers = [client.get(f"/api/v1/verifications/{vid}", headers=owner),
               client.get(f"/api/v1/incidents/{incident_id}", headers=owner),
               client.get(f"/api/v1/incidents/{incident_id}", headers=staff),
               client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=staff),
               client.get(f"/api/v1/audit?incident_id={incident_id}", headers=staff)]
    assert all(answer.status_code == 200 for answer in answers)
    assert not any(OWNER_TOTP_SECRET in answer.get_data(as_text=True) for answer in answers)


@pytest.mark.parametrize("path", ["/api/v1/anomalies", "/api/v1/incidents/00000000-0000-0000-0000-000000000001/verifications",
                                  "/api/v1/incidents/00000000-0000-0000-0000-000000000001/unfreeze-requests"])
def test_every_json_route_refuses_a_form_body_with_415_and_a_huge_body_with_413(client, path):
    """The body checks run before routing's work on every POST, not only on /reports."""
    form = client.post(path, data="a=1", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and form.get_json()["type"] == "/problems/unsupported-media-type"
    huge = client.post(path, data=b'{"x": "' + b"x" * (65 * 1024) + b'"}', content_type="application/json")
    assert huge.status_code == 413 and huge.content_type == "application/problem+json"


@pytest.mark.parametrize("cursor", ["garbage!", "WzEsMl0", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIm5vdC1hLXV1aWQiXQ"])
def test_a_damaged_unfreeze_queue_cursor_is_a_422_naming_the_cursor(app, client, cursor):
    """Not base64 JSON, an incident list's cursor ([1, 2]), a time with something that is not a request id."""
    response = client.get("/api/v1/unfreeze-requests", query_string={"cursor": cursor},
                          headers=make_staff(app, "risk_officer").headers)
    assert response.status_code == 422 and "cursor" in response.get_json()["errors"]
