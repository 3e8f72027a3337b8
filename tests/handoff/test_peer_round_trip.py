"""Freeze requests between two real instances over HTTP: sent, acknowledged, held, seen on both sides."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from incidents.handoff.models import PeerMessage, ReceivedFreezeRequest, SentFreezeRequest
from tests.factories import make_staff
from tests.handoff.support import DEPOSIT
from tests.incidents.exchange_peer import backoffice_account
from tests.handoff.pair import alpha_case, beta_customer, send

pytestmark = pytest.mark.slow


def test_a_request_is_sent_acknowledged_and_held_and_both_sides_see_it(pair):
    beta_customer(pair)
    incident_id, trace_id, agent = alpha_case(pair)
    queued = send(pair, trace_id, agent)
    assert queued.status_code == 202, queued.text
    request = queued.json()
    assert request["status"] == "queued" and request["addresses"] == [DEPOSIT] and not request["late"]
    assert len(request["evidence_sha256"]) == 64

    pair.alpha.tick()  # delivered to Beta, which answers with its reference
    sent = pair.alpha.api("GET", f"/api/v1/freeze-requests/{request['id']}", agent).json()
    assert sent["status"] == "sent" and sent["reference"].startswith("PFR-")

    pair.beta.tick()  # Beta acknowledges through its outbox and freezes the account's withdrawals
    pair.beta.tick()  # the freeze confirmed: Beta tells Alpha the deposits are held
    after = pair.alpha.api("GET", f"/api/v1/incidents/{incident_id}", agent).json()["freeze_requests"]
    assert [(r["status"], r["reference"]) for r in after] == [("held", sent["reference"])]
    assert after[0]["acknowledged_at"] is not None

    officer = make_staff(pair.beta.app, "risk_officer").token
    cases = pair.beta.api("GET", "/api/v1/incidents", officer, params={"account_id": "V2002"}).json()["items"]
    assert len(cases) == 1
    case = pair.beta.api("GET", f"/api/v1/incidents/{cases[0]['id']}", officer).json()
    assert (case["kind"], case["source"], case["containment"]) == ("peer_freeze_request", "peer", "frozen")
    seen = case["peer_request"]
    assert (seen["from_exchange"], seen["reference"], seen["hold"]) == ("Alpha", sent["reference"], "held")
    assert seen["evidence_sha256"] == request["evidence_sha256"]
    with pair.beta.app.extensions["lockdesk"].sessions() as session:
        assert backoffice_account(session, "V2002").freeze_scope == "withdrawals"

    timeline = pair.alpha.api("GET", f"/api/v1/incidents/{incident_id}/timeline", agent).json()["items"]
    actions = [event["action"] for event in timeline]
    for action in ("evidence.bundle_written", "peer.freeze_request.queued", "peer.freeze_request.sent",
                   "peer.freeze_request.acknowledged", "peer.freeze_request.held"):
        assert action in actions, action


def test_releasing_the_hold_is_audited_and_reported_back(pair):
    beta_customer(pair)
    _incident_id, trace_id, agent = alpha_case(pair)
    request = send(pair, trace_id, agent).json()
    pair.alpha.tick()
    pair.beta.tick(rounds=2)
    officer = make_staff(pair.beta.app, "risk_officer").token
    cases = pair.beta.api("GET", "/api/v1/incidents", officer, params={"account_id": "V2002"}).json()["items"]
    case_id = cases[0]["id"]
    empty = pair.beta.api("POST", f"/api/v1/incidents/{case_id}/peer-hold/release", officer, json={"reason": ""})
    assert empty.status_code == 422 and "reason" in empty.text
    released = pair.beta.api("POST", f"/api/v1/incidents/{case_id}/peer-hold/release", officer,
                             json={"reason": "the deposit was the customer's own salary"})
    assert released.status_code == 202, released.text
    again = pair.beta.api("POST", f"/api/v1/incidents/{case_id}/peer-hold/release", officer, json={"reason": "x"})
    assert again.status_code == 409
    pair.beta.tick()
    sent = pair.alpha.api("GET", f"/api/v1/freeze-requests/{request['id']}", agent).json()
    assert sent["status"] == "released" and sent["resolution"] == "the deposit was the customer's own salary"
    events = pair.beta.api("GET", f"/api/v1/incidents/{case_id}/timeline", officer).json()["items"]
    assert any(e["action"] == "peer.hold.released" and e["data"]["reason"].startswith("the deposit") for e in events)
    with pair.beta.app.extensions["lockdesk"].sessions() as session:
        assert backoffice_account(session, "V2002").state == "active"


def test_addresses_the_receiver_does_not_know_are_declined_with_the_reason(pair):
    _incident_id, trace_id, agent = alpha_case(pair)  # Beta gave nobody that address
    request = send(pair, trace_id, agent).json()
    pair.alpha.tick()
    pair.beta.tick()
    sent = pair.alpha.api("GET", f"/api/v1/freeze-requests/{request['id']}", agent).json()
    assert sent["status"] == "declined" and "no account of this exchange has this deposit address" in sent["resolution"]


def test_a_receiver_that_is_down_gets_the_request_when_it_comes_back_and_only_once(pair):
    beta_customer(pair)
    _incident_id, trace_id, agent = alpha_case(pair)
    pair.beta.stop()
    request = send(pair, trace_id, agent).json()
    pair.alpha.tick()
    waiting = pair.alpha.api("GET", f"/api/v1/freeze-requests/{request['id']}", agent).json()
    assert waiting["status"] == "queued"
    with pair.alpha.app.extensions["lockdesk"].sessions() as session:
        message = session.query(PeerMessage).one()
        assert (message.status, message.attempts) == ("pending", 1) and "unreachable" in message.last_error
        message.next_attempt_at = message.created_at  # its backoff over
        session.commit()
    pair.beta.start(pair.ports["Beta"])
    pair.alpha.tick()
    assert pair.alpha.api("GET", f"/api/v1/freeze-requests/{request['id']}", agent).json()["status"] == "sent"
    pair.alpha.tick()  # nothing due: sent once
    with pair.beta.app.extensions["lockdesk"].sessions() as session:
        assert session.query(ReceivedFreezeRequest).count() == 1


def test_a_request_not_acknowledged_within_peer_ack_hours_is_flagged_late(pair):
    _incident_id, trace_id, agent = alpha_case(pair)
    pair.beta.stop()
    request = send(pair, trace_id, agent).json()
    assert pair.alpha.api("GET", "/api/v1/freeze-requests", agent, params={"late": "true"}).json()["items"] == []
    with pair.alpha.app.extensions["lockdesk"].sessions() as session:
        row = session.get(SentFreezeRequest, uuid.UUID(request["id"]))
        row.ack_due_at = row.created_at - timedelta(minutes=1)  # an hour went by
        session.commit()
    late = pair.alpha.api("GET", "/api/v1/freeze-requests", agent, params={"late": "true"}).json()["items"]
    assert [(item["id"], item["late"]) for item in late] == [(request["id"], True)]
    assert pair.alpha.api("GET", f"/api/v1/freeze-requests/{request['id']}", agent).json()["late"] is True
