"""The edge refuses what cannot be taken before any route acts on it (issue 17, items 2, 5, 6, 8 and 13).

Each table names a route, a field and a value; the answer must be a 4xx problem naming that field, and
nothing may have been stored or spent.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from app.db import utcnow
from incidents.models import Incident, Report
from tests.factories import bearer, make_staff, OWNER_TOTP_SECRET, report_body, signed_anomaly

SOME_ID = "3f1c6a52-5b1e-4c55-9a57-0c2b8f1d9e10"
LONE_SURROGATE = "\udcff"
NUL = "\x00"


def anomaly_body(**overrides) -> dict:
    """A valid risk-engine event."""
    return {"event_id": uuid.uuid4().hex, "account_id": "U1001", "type": "new_device_login",
            "occurred_at": utcnow().isoformat(), "details": {"ip": "203.0.113.9"}, **overrides}


def send_json(client, method: str, path: str, body: dict, headers: dict | None = None):
    """Send a body exactly as given (json.dumps escapes a lone surrogate as \\udcff, as a hostile client would)."""
    raw = json.dumps(body).encode()
    if path in ("/api/v1/anomalies", "/api/v1/anomalies/batch"):
        raw, signed = signed_anomaly(body)
        headers = {**(headers or {}), **signed}
    return client.open(path, method=method, data=raw, headers={"Content-Type": "application/json", **(headers or {})})


def count(app, model) -> int:
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def with_value(body: dict, dotted: str, value) -> dict:
    """A copy of `body` with the field at the dotted path set to `value`."""
    copy = json.loads(json.dumps(body))
    *parents, last = dotted.split(".")
    node = copy
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[int(last) if last.isdigit() else last] = value
    return copy


# ---- item 6: text that cannot be stored ------------------------------------------------------------------

STAFF_BODIES = {
    ("POST", f"/api/v1/incidents/{SOME_ID}/transitions"): {"to": "in_progress", "reason": "ok"},
    ("POST", f"/api/v1/incidents/{SOME_ID}/freeze"): {"scope": "full", "reason": "ok"},
    ("POST", f"/api/v1/incidents/{SOME_ID}/reopen"): {"reason": "ok"},
    ("POST", f"/api/v1/verifications/{SOME_ID}/manual-review"): {"decision": "approve", "evidence": "ok"},
    ("POST", f"/api/v1/unfreeze-requests/{SOME_ID}/checklist/password_reset"): {"status": "done", "note": "ok"},
    ("POST", f"/api/v1/unfreeze-requests/{SOME_ID}/decisions"): {"decision": "approve", "reason": "ok",
                                                                  "totp": "123456"},
    ("POST", "/api/v1/traces"): {"chain": "ethereum", "tx_hash": "0x" + "ab" * 32, "depth": 1},
    ("POST", f"/api/v1/traces/{SOME_ID}/freeze-requests"): {"exchange": "Peer"},
    ("POST", f"/api/v1/incidents/{SOME_ID}/peer-hold/release"): {"reason": "ok"},
    ("POST", f"/api/v1/verifications/{SOME_ID}/totp"): {"code": "123456"},
    ("POST", f"/api/v1/verifications/{SOME_ID}/sms/check"): {"code": "123456"},
    ("POST", f"/api/v1/incidents/{SOME_ID}/messages"): {"body": "hello"},
    ("POST", "/api/v1/audit/verify"): {"seq": 1, "head": "0" * 64, "created_at": "2026-12-03T00:00:00+00:00",
                                       "key_id": "k", "algorithm": "ed25519", "public_key": "A" * 44,
                                       "signature": "A" * 88},
}
PUBLIC_BODIES = {
    ("POST", "/api/v1/reports"): report_body(loss_usd="10"),
    ("POST", "/api/v1/anomalies"): anomaly_body(),
    ("POST", "/api/v1/anomalies/batch"): {"events": [anomaly_body(), anomaly_body()]},
    ("POST", "/api/v1/repudiations"): {"token": "0" * 32 + "." + "A" * 43},
    ("POST", "/api/v1/repudiations/inspect"): {"token": "0" * 32 + "." + "A" * 43},
}
TEXT_FIELDS = [
    ("POST", "/api/v1/reports", "description"), ("POST", "/api/v1/reports", "account_id"),
    ("POST", "/api/v1/reports", "contact.email"), ("POST", "/api/v1/reports", "transactions.0.hash"),
    ("POST", "/api/v1/reports", "loss_usd"), ("POST", "/api/v1/reports", "kind"),
    ("POST", "/api/v1/anomalies", "event_id"), ("POST", "/api/v1/anomalies", "details.ip"),
    ("POST", "/api/v1/anomalies", "details.nested.0"), ("POST", "/api/v1/anomalies", "type"),
    ("POST", "/api/v1/anomalies/batch", "events.1.event_id"), ("POST", "/api/v1/anomalies/batch", "events.0.details.ip"),
    ("POST", "/api/v1/repudiations", "token"), ("POST", "/api/v1/repudiations/inspect", "token"),
    ("POST", f"/api/v1/incidents/{SOME_ID}/transitions", "reason"),
    ("POST", f"/api/v1/incidents/{SOME_ID}/freeze", "reason"),
    ("POST", f"/api/v1/incidents/{SOME_ID}/reopen", "reason"),
    ("POST", f"/api/v1/verifications/{SOME_ID}/manual-review", "evidence"),
    ("POST", f"/api/v1/unfreeze-requests/{SOME_ID}/checklist/password_reset", "note"),
    ("POST", f"/api/v1/unfreeze-requests/{SOME_ID}/decisions", "reason"),
    ("POST", "/api/v1/traces", "tx_hash"),
    ("POST", f"/api/v1/traces/{SOME_ID}/freeze-requests", "exchange"),
    ("POST", f"/api/v1/incidents/{SOME_ID}/peer-hold/release", "reason"),
    ("POST", f"/api/v1/verifications/{SOME_ID}/totp", "code"),
    ("POST", f"/api/v1/verifications/{SOME_ID}/sms/check", "code"),
    ("POST", "/api/v1/audit/verify", "key_id"),
    ("POST", f"/api/v1/incidents/{SOME_ID}/messages", "body"),
]


@pytest.mark.parametrize("bad", [LONE_SURROGATE, NUL, "\x1b[2J"], ids=["lone-surrogate", "nul", "escape"])
@pytest.mark.parametrize(("method", "path", "field"), TEXT_FIELDS, ids=lambda v: str(v).rsplit("/", 1)[-1])
def test_text_that_cannot_be_stored_is_422_naming_the_field(app, client, method, path, field, bad):
    body = {**PUBLIC_BODIES, **STAFF_BODIES}[(method, path)]
    headers = make_staff(app, "admin").headers if (method, path) in STAFF_BODIES else {}
    response = send_json(client, method, path, with_value(body, field, f"x{bad}y"), headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert count(app, Report) == 0


def test_a_key_that_cannot_be_stored_is_422_naming_it(app, client):
    response = send_json(client, "POST", "/api/v1/anomalies", anomaly_body(details={"a\x00b": 1}))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["details.a\\x00b"]


def test_every_route_with_a_body_is_in_the_text_table(client):
    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path.replace(SOME_ID, "{}").replace("/password_reset", "/{}"))

    document = client.get("/api/v1/openapi.json").get_json()
    with_body = {(method.upper(), shape(path)) for path, item in document["paths"].items()
                 for method, operation in item.items() if "requestBody" in operation}
    covered = {(method, shape(path)) for method, path, _field in TEXT_FIELDS}
    # The upload is multipart: its form fields pass the same check (app.edge), its file is sniffed by type.
    covered.add(("POST", "/api/v1/incidents/{}/attachments"))
    # A peer's routes are signed: their text is refused after the signature, in tests/handoff/test_peer_refusals.py.
    covered |= {("POST", "/api/v1/peer/freeze-requests"), ("POST", "/api/v1/peer/freeze-requests/{}/status")}
    assert with_body <= covered, with_body - covered


@pytest.mark.parametrize("query", ["/api/v1/incidents?account_id=%00", "/api/v1/incidents?status=%01",
                                   "/api/v1/unfreeze-requests?cursor=%00", "/api/v1/audit?cursor=a%0Ab",
                                   "/api/v1/incidents?x%00=1"])
def test_a_query_argument_with_control_characters_is_422(app, client, query):
    response = client.get(query, headers=make_staff(app, "admin").headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json" and response.get_json()["errors"]


def test_a_form_field_with_a_nul_is_refused_before_anything_is_stored(app, client):
    form = {"account_id": "U1001", "kind": "stolen_account", "description": "not me\x00"}
    response = client.post("/report", data=form)
    assert response.status_code == 422
    assert count(app, Report) == 0


def test_a_refused_reason_does_not_spend_the_officers_code(app, client):
    from tests.app.test_unfreeze_api import ready_request
    from tests.incidents.review_support import frozen_case

    request_id = ready_request(app, client, frozen_case(app))
    officer = make_staff(app, "risk_officer")
    code = officer.code()
    refused = client.post(f"/api/v1/unfreeze-requests/{request_id}/decisions", headers=bearer(officer.token),
                          json={"decision": "approve", "reason": "fine\x00", "totp": code})
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    accepted = client.post(f"/api/v1/unfreeze-requests/{request_id}/decisions", headers=bearer(officer.token),
                           json={"decision": "approve", "reason": "fine", "totp": code})
    assert accepted.status_code == 200, accepted.get_json()


# ---- item 8: the whole value must match -------------------------------------------------------------------

TRAILING_NEWLINE_FIELDS = [
    ("POST", "/api/v1/reports", "account_id", "U1001"), ("POST", "/api/v1/reports", "contact.phone", "+15550001"),
    ("POST", "/api/v1/reports", "transactions.0.hash", "0x" + "ab" * 32),
    ("POST", "/api/v1/reports", "transactions.0.chain", "ethereum"),
    ("POST", "/api/v1/reports", "loss_usd", "10"),
    ("POST", "/api/v1/anomalies", "account_id", "U1001"), ("POST", "/api/v1/anomalies", "type", "sim_swap"),
    ("POST", "/api/v1/traces", "chain", "ethereum"), ("POST", "/api/v1/traces", "tx_hash", "0x" + "ab" * 32),
    ("POST", f"/api/v1/unfreeze-requests/{SOME_ID}/decisions", "totp", "123456"),
    ("POST", "/api/v1/repudiations", "token", "0" * 32 + "." + "A" * 43),
]


@pytest.mark.parametrize(("method", "path", "field", "value"), TRAILING_NEWLINE_FIELDS,
                         ids=lambda v: str(v).rsplit("/", 1)[-1][:20])
def test_a_pattern_must_match_the_whole_value_not_up_to_a_trailing_newline(app, client, method, path, field,
                                                                           value):
    body = {**PUBLIC_BODIES, **STAFF_BODIES}[(method, path)]
    headers = make_staff(app, "risk_officer").headers if (method, path) in STAFF_BODIES else {}
    response = send_json(client, method, path, with_value(body, field, value + "\n"), headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("route", ["sms/check", "totp"])
def test_a_one_time_code_with_a_trailing_newline_is_422(app, client, route):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    verification = client.post(f"/api/v1/incidents/{answer['incident']['id']}/verifications",
                               headers=bearer(answer["access_token"]))
    code = pyotp.TOTP(OWNER_TOTP_SECRET).now() + "\n"
    response = client.post(f"/api/v1/verifications/{verification.get_json().get('id', SOME_ID)}/{route}",
                           json={"code": code}, headers=bearer(answer["access_token"]))
    assert response.status_code == 422 and "code" in response.get_json()["errors"]


def test_an_account_id_with_a_trailing_newline_opens_no_second_incident(app, client):
    assert client.post("/api/v1/reports", json=report_body("U1001")).status_code == 201
    response = client.post("/api/v1/reports", json=report_body("U1001\n"))
    assert response.status_code == 422 and "account_id" in response.get_json()["errors"]
    assert count(app, Incident) == 1


def test_a_queue_filter_with_a_trailing_newline_is_422(app, client):
    response = client.get("/api/v1/incidents?account_id=U1001%0A", headers=make_staff(app).headers)
    assert response.status_code == 422


# ---- item 2 (the edge): client times inside a sane window -------------------------------------------------

OUT_OF_WINDOW = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                 "2008-12-31T23:59:59Z", "2099-01-01T00:00:00Z"]


@pytest.mark.parametrize("when", OUT_OF_WINDOW)
def test_a_reported_time_outside_2009_to_now_is_422_naming_the_field(app, client, when):
    response = client.post("/api/v1/reports", json=report_body("U1001", last_legitimate_activity_at=when))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "last_legitimate_activity_at" in response.get_json()["errors"]
    assert count(app, Incident) == 0


@pytest.mark.parametrize("when", OUT_OF_WINDOW)
def test_an_anomaly_time_outside_2009_to_now_is_422_naming_the_field(app, client, when):
    response = send_json(client, "POST", "/api/v1/anomalies", anomaly_body(occurred_at=when, type="sim_swap"))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "occurred_at" in response.get_json()["errors"]


def test_a_time_within_the_webhook_tolerance_ahead_is_taken(app, client):
    ahead = (utcnow() + timedelta(seconds=app.config["WEBHOOK_TOLERANCE_SECONDS"] - 60)).isoformat()
    response = send_json(client, "POST", "/api/v1/anomalies", anomaly_body(occurred_at=ahead))
    assert response.status_code == 202, response.get_data(as_text=True)
    too_far = (utcnow() + timedelta(seconds=app.config["WEBHOOK_TOLERANCE_SECONDS"] + 60)).isoformat()
    response = send_json(client, "POST", "/api/v1/anomalies", anomaly_body(occurred_at=too_far))
    assert response.status_code == 422


def test_the_report_form_refuses_a_time_in_year_one(app, client):
    page = client.get("/report").get_data(as_text=True)
    form = {"account_id": "U1001", "kind": "stolen_account", "last_legitimate_activity_at": "0001-01-01T00:00",
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)}
    response = client.post("/report", data=form)
    assert response.status_code == 422
    assert count(app, Incident) == 0


# ---- item 5: a burned SMS code answers 429, never 500 ----------------------------------------------------

def test_sms_calls_after_the_fifth_wrong_code_answer_429_not_500(app, client):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    app.extensions["lockdesk"].ports.dispatcher.drain()
    owner = bearer(answer["access_token"])
    vid = client.post(f"/api/v1/incidents/{answer['incident']['id']}/verifications", headers=owner).get_json()["id"]
    assert client.post(f"/api/v1/verifications/{vid}/sms", headers=owner).status_code == 202
    statuses = [client.post(f"/api/v1/verifications/{vid}/sms/check", json={"code": "000000"}, headers=owner)
                for _ in range(6)]
    later_send = client.post(f"/api/v1/verifications/{vid}/sms", headers=owner)
    for response in [*statuses[4:], later_send]:
        assert response.status_code == 429, response.get_data(as_text=True)
        assert response.get_json()["type"] == "/problems/too-many-attempts"
        assert response.headers.get("Retry-After", "1").isdigit()


# ---- item 13: duplicate keys, plain decimals, who decides ------------------------------------------------

def test_a_json_member_given_twice_is_400_naming_it(app, client):
    raw = b'{"account_id": "U2002", "kind": "stolen_account", "account_id": "U1001"}'
    response = client.post("/api/v1/reports", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    assert "account_id" in response.get_json()["errors"]
    assert count(app, Incident) == 0


def test_a_nested_member_given_twice_is_400(app, client):
    raw = b'{"account_id": "U1001", "kind": "stolen_account", "contact": {"email": "a@b.example", "email": "x"}}'
    response = client.post("/api/v1/reports", data=raw, content_type="application/json")
    assert response.status_code == 400 and "email" in response.get_json()["errors"]


@pytest.mark.parametrize("amount", ["1e309", " 5 ", "\uff11\uff10", "-1", "+5", "1e3", "Infinity", "NaN", "5.",
                                    ".5", "1" * 31, "1.1234567890", "\u0665"])
def test_a_loss_must_be_a_plain_decimal(app, client, amount):
    response = client.post("/api/v1/reports", json=report_body("U1001", loss_usd=amount))
    assert response.status_code == 422 and "loss_usd" in response.get_json()["errors"]


def test_a_plain_decimal_loss_is_taken(app, client):
    response = client.post("/api/v1/reports", json=report_body("U1001", loss_usd="1500.25"))
    assert response.status_code == 201
    with app.extensions["lockdesk"].sessions() as session:
        assert str(session.scalar(select(Report.reported_loss))) == "1500.25"


def test_only_risk_officers_decide_unfreezes_not_admins(app, client):
    from tests.app.test_unfreeze_api import ready_request
    from tests.incidents.review_support import frozen_case

    request_id = ready_request(app, client, frozen_case(app))
    admin = make_staff(app, "admin")
    response = client.post(f"/api/v1/unfreeze-requests/{request_id}/decisions", headers=bearer(admin.token),
                           json={"decision": "approve", "reason": "fine", "totp": admin.code()})
    assert response.status_code == 403 and response.content_type == "application/problem+json"
    officer = make_staff(app, "risk_officer")
    response = client.post(f"/api/v1/unfreeze-requests/{request_id}/decisions", headers=bearer(officer.token),
                           json={"decision": "approve", "reason": "fine", "totp": officer.code()})
    assert response.status_code == 200
