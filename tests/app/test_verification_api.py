"""API.md "Verification": the owner proves the account with its registered TOTP and phone."""
import json
from datetime import timedelta

import pyotp
import pytest

from app.adapters import build_exchange
from app.db import utcnow
from tests.factories import (
    OWNER_TOTP_SECRET,
    bearer,
    exchange_account,
    last_sms_code,
    report_body,
    seal_audit_events,
    make_staff,
)
from tests.app.api_support import settle, start


@pytest.fixture
def reported(app, client):
    """A frozen incident whose account details have arrived; its reporter's headers."""
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    settle(app)
    return answer["incident"]["id"], bearer(answer["access_token"])


def test_the_owner_passes_with_the_authenticator_and_the_sms_code(app, client, reported):
    incident_id, owner = reported
    verification = start(client, incident_id, owner)
    assert verification["status"] == "pending" and verification["manual_review_required"] is False
    factors = {f["kind"]: f for f in verification["factors"]}
    assert factors["sms"]["destination"] == "+1*****0001" and factors["totp"]["trusted"] is True
    vid = verification["id"]
    totp = client.post(f"/api/v1/verifications/{vid}/totp", json={"code": pyotp.TOTP(OWNER_TOTP_SECRET).now()},
                       headers=owner)
    assert totp.status_code == 200
    sent = client.post(f"/api/v1/verifications/{vid}/sms", headers=owner)
    assert sent.status_code == 202 and sent.get_json() == {"resend_after": 60}
    passed = client.post(f"/api/v1/verifications/{vid}/sms/check", json={"code": last_sms_code(app)},
                         headers=owner)
    assert passed.status_code == 200 and passed.get_json()["status"] == "passed"
    detail = client.get(f"/api/v1/incidents/{incident_id}", headers=owner).get_json()
    assert detail["verification"]["status"] == "passed"


def test_the_sms_goes_to_the_registered_phone_with_the_anti_phishing_code(client, reported, settings):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    client.post(f"/api/v1/verifications/{vid}/sms", headers=owner)
    with open(settings["SMS_LOG_PATH"], encoding="utf-8") as handle:
        message = json.loads(handle.read().strip().splitlines()[-1])
    assert message["to"] == "+15550001"
    assert "BLUE-HERON" in message["body"]


def test_a_wrong_code_is_422_with_the_remaining_attempts(client, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    code = pyotp.TOTP(OWNER_TOTP_SECRET).now()
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(f"/api/v1/verifications/{vid}/totp", json={"code": wrong}, headers=owner)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"] == "/problems/wrong-code" and problem["remaining_attempts"] == 4


def test_a_code_used_twice_is_refused_the_second_time(client, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    code = pyotp.TOTP(OWNER_TOTP_SECRET).now()
    assert client.post(f"/api/v1/verifications/{vid}/totp", json={"code": code}, headers=owner).status_code == 200
    again = start(client, incident_id, owner)["id"]
    reused = client.post(f"/api/v1/verifications/{again}/totp", json={"code": code}, headers=owner)
    assert reused.status_code == 422 and reused.get_json()["type"] == "/problems/code-already-used"


def test_the_owner_is_told_when_a_used_code_is_entered_again(app, client, reported, session):
    """ASVS 4.0.3 2.8.5: reuse within the validity period is logged and the holder told."""
    from sqlalchemy import select

    from incidents.models import AuditEvent, Notification

    incident_id, owner = reported
    code = pyotp.TOTP(OWNER_TOTP_SECRET).now()
    client.post(f"/api/v1/verifications/{start(client, incident_id, owner)['id']}/totp", json={"code": code},
                headers=owner)
    client.post(f"/api/v1/verifications/{start(client, incident_id, owner)['id']}/totp", json={"code": code},
                headers=owner)
    seal_audit_events(client.application)
    assert "verification.code_reused" in session.scalars(select(AuditEvent.action)).all()
    notices = session.scalars(select(Notification.channel).where(Notification.notice == "code_reused")).all()
    assert sorted(notices) == ["email", "sms"]


@pytest.mark.parametrize("code", ["12345", "1234567", "12a456", "１２３４５６", " 123456", ""])
def test_codes_must_be_exactly_six_ascii_digits(client, reported, code):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    response = client.post(f"/api/v1/verifications/{vid}/totp", json={"code": code}, headers=owner)
    assert response.status_code == 422 and "code" in response.get_json()["errors"]


def test_a_second_sms_within_60_seconds_is_429_with_retry_after(client, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    client.post(f"/api/v1/verifications/{vid}/sms", headers=owner)
    again = client.post(f"/api/v1/verifications/{vid}/sms", headers=owner)
    assert again.status_code == 429 and 0 < int(again.headers["Retry-After"]) <= 60


def test_another_reporter_cannot_touch_this_verification(client, app, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    exchange_account(app, "OTHER-1")
    other = bearer(client.post("/api/v1/reports", json=report_body("OTHER-1")).get_json()["access_token"])
    assert client.get(f"/api/v1/verifications/{vid}", headers=other).status_code == 404
    assert client.post(f"/api/v1/verifications/{vid}/sms", headers=other).status_code == 404
    assert client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=other).status_code == 404


def test_staff_cannot_enter_the_owners_codes(client, app, reported):
    incident_id, owner = reported
    vid = start(client, incident_id, owner)["id"]
    agent = make_staff(app, "agent").headers
    assert client.get(f"/api/v1/verifications/{vid}", headers=agent).status_code == 200
    response = client.post(f"/api/v1/verifications/{vid}/totp", json={"code": "123456"}, headers=agent)
    assert response.status_code == 403


def test_verification_right_after_the_freeze_fetches_the_account_details_itself(client):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    # No follow-up has run: the verification asks the exchange for the account once, and starts.
    verification = start(client, answer["incident"]["id"], bearer(answer["access_token"]))
    assert {factor["kind"] for factor in verification["factors"]} == {"totp", "sms"}


def test_verification_waits_only_while_the_exchange_is_unreachable(client, app):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    runtime = app.extensions["lockdesk"]
    reachable = runtime.ports.exchange
    # The signed http client pointed at a port where nothing listens: a real connection refused.
    runtime.ports.exchange = build_exchange({
        "EXCHANGE_ADAPTER": "http", "EXCHANGE_API_BASE": "http://127.0.0.1:9", "EXCHANGE_API_KEY": "k",
        "EXCHANGE_API_SECRET": "s", "EXCHANGE_MAX_ATTEMPTS": 1, "EXCHANGE_CONNECT_TIMEOUT": 1.0,
        "EXCHANGE_READ_TIMEOUT": 1.0, "EXCHANGE_BUDGET_SECONDS": 2.0, "EXCHANGE_BREAKER_FAILURES": 5,
        "EXCHANGE_BREAKER_RESET_SECONDS": 30.0}, runtime.sessions)
    try:
        response = client.post(f"/api/v1/incidents/{answer['incident']['id']}/verifications",
                               headers=bearer(answer["access_token"]))
    finally:
        runtime.ports.exchange = reachable
    assert response.status_code == 409 and response.get_json()["type"] == "/problems/account-details-pending"
    assert int(response.headers["Retry-After"]) > 0


class TestRecentlyRebound:
    def test_a_factor_bound_after_the_suspicious_time_needs_a_manual_review(self, client, app):
        exchange_account(app, "REBOUND-1", totp_bound_at=utcnow() - timedelta(hours=1))
        answer = client.post("/api/v1/reports", json=report_body("REBOUND-1")).get_json()
        settle(app)
        owner = bearer(answer["access_token"])
        verification = start(client, answer["incident"]["id"], owner)
        assert verification["manual_review_required"] is True and verification["status"] == "manual_review"
        totp = {f["kind"]: f for f in verification["factors"]}["totp"]
        assert totp["trusted"] is False

        officer = make_staff(app, "risk_officer").headers
        agent = make_staff(app, "agent").headers
        url = f"/api/v1/verifications/{verification['id']}/manual-review"
        body = {"decision": "approve", "evidence": "passport and selfie match KYC on file"}
        assert client.post(url, json=body, headers=agent).status_code == 403
        reviewed = client.post(url, json=body, headers=officer)
        assert reviewed.status_code == 200 and reviewed.get_json()["status"] == "passed"


def test_a_stranger_who_attached_a_report_cannot_lock_the_owners_authenticator(client, reported):
    """Issue 17 item 3: five wrong codes through another reporter's token lock that token only."""
    incident_id, owner = reported
    attached = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    assert attached["incident"]["id"] == incident_id
    stranger = bearer(attached["access_token"])
    theirs = start(client, incident_id, stranger)["id"]
    wrong = "000000" if pyotp.TOTP(OWNER_TOTP_SECRET).now() != "000000" else "111111"
    answers = [client.post(f"/api/v1/verifications/{theirs}/totp", json={"code": wrong}, headers=stranger).status_code
               for _ in range(6)]
    assert answers == [422, 422, 422, 422, 429, 429]
    mine = start(client, incident_id, owner)["id"]
    passed = client.post(f"/api/v1/verifications/{mine}/totp", json={"code": pyotp.TOTP(OWNER_TOTP_SECRET).now()},
                         headers=owner)
    assert passed.status_code == 200, passed.get_json()
