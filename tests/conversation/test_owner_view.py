"""Issue 17 item 4: the owner's view (verification results, approvals, the unfreeze and its times) opens only to
the token whose holder passed the verification on the case; a second reporter sees its own report and the
containment, through the API and on the case page."""
from __future__ import annotations

import pyotp
import pytest

from tests.conversation.conftest import Reported, file_report
from tests.factories import OWNER_TOTP_SECRET, exchange_account, last_sms_code


def settle(app) -> None:
    """Run the freeze's follow-ups (the account's details arrive)."""
    app.extensions["lockdesk"].ports.dispatcher.drain()


def verify(app, client, reported: Reported) -> str:
    """Pass the verification with the authenticator and the SMS code; the verification id."""
    started = client.post(f"/api/v1/incidents/{reported.incident_id}/verifications", headers=reported.headers).json
    vid = started["id"]
    client.post(f"/api/v1/verifications/{vid}/totp", json={"code": pyotp.TOTP(OWNER_TOTP_SECRET).now()},
                headers=reported.headers)
    client.post(f"/api/v1/verifications/{vid}/sms", headers=reported.headers)
    checked = client.post(f"/api/v1/verifications/{vid}/sms/check", json={"code": last_sms_code(app)},
                          headers=reported.headers)
    assert checked.json["status"] == "passed", checked.json
    return vid


@pytest.fixture
def proven(app, client):
    """The owner reported, passed the verification and asked for the unfreeze; then a stranger reports too."""
    exchange_account(app, "U1001")
    owner = file_report(client)
    settle(app)
    vid = verify(app, client, owner)
    raised = client.post(f"/api/v1/incidents/{owner.incident_id}/unfreeze-requests", headers=owner.headers)
    assert raised.status_code == 201, raised.json
    stranger = file_report(client, description="I know this account id")
    assert stranger.incident_id == owner.incident_id
    return owner, stranger, vid


def test_a_second_reporter_sees_its_report_and_the_containment_but_not_the_owners_progress(client, proven):
    owner, stranger, _vid = proven
    seen = client.get(f"/api/v1/incidents/{owner.incident_id}", headers=stranger.headers).json
    assert seen["containment"] == "frozen" and seen["report"]["id"] == stranger.report_id
    assert seen["verification"] is None and seen["unfreeze_request"] is None


def test_the_verified_owner_still_sees_its_verification_and_unfreeze_request(client, proven):
    owner, _stranger, vid = proven
    seen = client.get(f"/api/v1/incidents/{owner.incident_id}", headers=owner.headers).json
    assert seen["verification"]["id"] == vid and seen["verification"]["status"] == "passed"
    assert seen["unfreeze_request"]["status"] == "pending" and seen["unfreeze_request"]["executes_at"]


def test_a_second_reporter_can_neither_read_nor_use_the_owners_verification(client, proven):
    owner, stranger, vid = proven
    assert client.get(f"/api/v1/verifications/{vid}", headers=stranger.headers).status_code == 404
    answer = client.post(f"/api/v1/verifications/{vid}/totp", json={"code": "123456"}, headers=stranger.headers)
    assert answer.status_code == 404


def test_a_second_reporter_cannot_ask_for_the_unfreeze_on_the_owners_proof(app, client):
    exchange_account(app, "U1001")
    owner = file_report(client)
    settle(app)
    verify(app, client, owner)
    stranger = file_report(client)
    answer = client.post(f"/api/v1/incidents/{owner.incident_id}/unfreeze-requests", headers=stranger.headers)
    assert answer.status_code == 409


def test_the_unfreeze_request_is_not_shown_to_a_second_reporter_by_its_id(client, proven):
    owner, stranger, _vid = proven
    request_id = client.get(f"/api/v1/incidents/{owner.incident_id}", headers=owner.headers).json[
        "unfreeze_request"]["id"]
    assert client.get(f"/api/v1/unfreeze-requests/{request_id}", headers=stranger.headers).status_code == 404


def case_page(client, reported: Reported) -> str:
    """The case page through the access link (the token is exchanged for the session cookie)."""
    client.get(f"/i/{reported.incident_id}?t={reported.token}")
    return client.get(f"/i/{reported.incident_id}").text


def test_the_case_page_of_a_second_reporter_shows_no_verification_or_unfreeze(app, proven):
    owner, stranger, _vid = proven
    page = case_page(app.test_client(), stranger)
    assert 'data-testid="containment"' in page
    assert 'data-testid="verification-status"' not in page and 'data-testid="unfreeze-status"' not in page
    owners_page = case_page(app.test_client(), owner)
    assert 'data-testid="verification-status"' in owners_page and 'data-testid="unfreeze-status"' in owners_page
