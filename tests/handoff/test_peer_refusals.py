"""What a receiving instance refuses, and why (API.md: 401 for the signature checks, 4xx for bad bodies)."""
from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from incidents.handoff.archive import Signer
from incidents.handoff.httpsig import sign_request
from incidents.handoff.models import ReceivedFreezeRequest
from incidents.models import Incident
from tests.factories import make_staff
from tests.handoff.pair import key_id, seed_b64
from tests.handoff.support import DEPOSIT
from tests.handoff.pair import alpha_case, beta_customer, send

pytestmark = pytest.mark.slow
PATH = "/api/v1/peer/freeze-requests"


def alpha_signer(seed: str | None = None, name: str | None = None) -> Signer:
    """Alpha's key (or another), under Alpha's key id unless told otherwise."""
    seed = seed or seed_b64(1)
    return Signer(key_id=name or key_id(seed_b64(1)),
                  private_key=Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)))


def request_body(pair, **overrides) -> dict:
    """A well-formed request from Alpha."""
    body = {"request_id": "req-1", "from_exchange": "Alpha", "case_reference": "INC-2026-000001",
            "chain": "ethereum", "deposits": [{"address": DEPOSIT, "tx_hash": "0x" + "ab" * 32, "asset": "ETH",
                                               "amount": "1.5"}],
            "evidence_sha256": "e" * 64,
            "callback_url": f"http://127.0.0.1:{pair.ports['Alpha']}/api/v1/peer/freeze-requests/req-1/status"}
    body.update(overrides)
    return body


def post_signed(pair, body, *, signer: Signer | None = None, created: datetime | None = None,
                send_body: bytes | None = None, path: str = PATH) -> requests.Response:
    """POST to Beta, signed as Alpha (or as told); `send_body` replaces the signed body on the wire."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = pair.beta.url + path
    headers = sign_request("POST", url, raw, signer=signer or alpha_signer(), created=created or datetime.now(UTC))
    return requests.post(url, data=send_body if send_body is not None else raw, headers=headers, timeout=20)


def nothing_written(pair) -> bool:
    """Beta recorded no request and opened no case."""
    with pair.beta.app.extensions["lockdesk"].sessions() as session:
        return (session.scalar(select(func.count()).select_from(ReceivedFreezeRequest)) == 0
                and session.scalar(select(func.count()).select_from(Incident)) == 0)


def test_a_signed_request_is_taken_and_a_repeated_request_id_gets_the_first_answer(pair):
    beta_customer(pair)
    first = post_signed(pair, request_body(pair))
    assert first.status_code == 202 and first.json()["status"] == "received"
    again = post_signed(pair, request_body(pair, case_reference="INC-2026-000999"))
    assert again.status_code == 200 and again.json() == first.json()
    with pair.beta.app.extensions["lockdesk"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReceivedFreezeRequest)) == 1


@pytest.mark.parametrize(("case", "reason"), [
    ("old", "signature-expired"), ("unknown key", "unknown-key"), ("other key", "bad-signature"),
    ("body changed", "digest-mismatch"), ("unsigned", "bad-signature")])
def test_the_receiver_refuses_and_says_why(pair, case, reason):
    body = request_body(pair)
    if case == "old":
        answer = post_signed(pair, body, created=datetime.now(UTC) - timedelta(seconds=301))
    elif case == "unknown key":
        answer = post_signed(pair, body, signer=alpha_signer(seed_b64(9), name="not-a-peer-key"))
    elif case == "other key":
        answer = post_signed(pair, body, signer=alpha_signer(seed_b64(9)))
    elif case == "body changed":
        answer = post_signed(pair, body, send_body=json.dumps({**body, "chain": "bitcoin"}).encode())
    else:
        answer = requests.post(pair.beta.url + PATH, json=body, timeout=20)
    assert answer.status_code == 401 and answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["reason"] == reason and answer.json()["detail"]
    assert nothing_written(pair)


@pytest.mark.parametrize(("change", "status", "field"), [
    ({"chain": "dogecoin"}, 422, "chain"),
    ({"callback_url": "http://10.0.0.8/steal"}, 422, "callback_url"),
    ({"callback_url": "http://127.0.0.1:1/elsewhere"}, 422, "callback_url"),
    ({"callback_url": "file:///etc/passwd"}, 422, "callback_url"),
    ({"callback_url": "http://localhost.localdomain:9/"}, 422, "callback_url"),
    ({"deposits": []}, 422, "deposits"),
    ({"deposits": [{"address": DEPOSIT, "tx_hash": "0x1", "asset": "ETH", "amount": "lots"}]}, 422, "deposits"),
    ({"evidence_sha256": "not-a-hash"}, 422, "evidence_sha256"),
    ({"from_exchange": "Gamma"}, 422, "from_exchange"),
    ({"unexpected": 1}, 422, "unexpected"),
    ({"case_reference": "INC\x00-1"}, 422, "case_reference"),  # text that cannot be stored (app.edge)
    ({"case_reference": "INC\udcff-1"}, 422, "case_reference"),
])
def test_bad_bodies_get_a_clear_problem_naming_the_field_and_nothing_is_written(pair, change, status, field):
    beta_customer(pair)
    answer = post_signed(pair, request_body(pair, **change))
    assert answer.status_code == status, answer.text
    assert field in json.dumps(answer.json().get("errors") or answer.json())
    assert nothing_written(pair)


def test_malformed_and_oversized_bodies_are_refused(pair):
    assert post_signed(pair, b'{"request_id": ').status_code == 400
    huge = request_body(pair, case_reference="x" * 70_000)
    assert post_signed(pair, huge).status_code == 413
    assert nothing_written(pair)


def test_a_callback_on_a_public_address_is_taken(pair):
    beta_customer(pair)
    answer = post_signed(pair, request_body(pair, callback_url="https://93.184.215.14/hooks/freeze"))
    assert answer.status_code == 202, answer.text


def test_the_sender_refuses_an_exchange_that_is_no_peer_and_addresses_the_trace_did_not_reach(pair):
    _incident, trace_id, agent = alpha_case(pair)
    unknown = pair.alpha.api("POST", f"/api/v1/traces/{trace_id}/freeze-requests", agent,
                             json={"exchange": "Gamma"})
    assert unknown.status_code == 422 and "exchange" in unknown.json()["errors"]
    elsewhere = send(pair, trace_id, agent, addresses=["0x" + "42" * 20])
    assert elsewhere.status_code == 422 and "addresses" in elsewhere.json()["errors"]
    officer = pair.alpha.api("POST", f"/api/v1/traces/{trace_id}/freeze-requests", make_staff(
        pair.alpha.app, "risk_officer").token, json={"exchange": "Beta"})
    assert officer.status_code == 403  # agents send requests


def test_a_status_update_for_a_request_never_sent_is_not_found(pair):
    body = {"request_id": "00000000-0000-4000-8000-000000000000", "status": "held", "reference": "PFR-1"}
    url = pair.alpha.url + f"/api/v1/peer/freeze-requests/{body['request_id']}/status"
    beta = Signer(key_id=key_id(seed_b64(2)),
                  private_key=Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64(2))))
    raw = json.dumps(body).encode()
    answer = requests.post(url, data=raw, headers=sign_request("POST", url, raw, signer=beta,
                                                               created=datetime.now(UTC)), timeout=20)
    assert answer.status_code == 404


def test_during_a_key_rotation_both_of_a_peers_keys_are_accepted(pair):
    beta_customer(pair)
    assert post_signed(pair, request_body(pair, request_id="old-key")).status_code == 202
    rotated = alpha_signer(seed_b64(3), name=key_id(seed_b64(3)))
    assert post_signed(pair, request_body(pair, request_id="new-key"), signer=rotated).status_code == 202
