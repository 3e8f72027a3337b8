"""How a case moves and ends, as the API shows it: the exchange's 404 is final, someone acting moves the case,
ending it cancels its unfreeze, each hash is traced once; `make run` takes PORT and the demo's short wait."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pyotp
from sqlalchemy import select

from app.db import utcnow
from chain.models import Trace
from incidents.casework import change_status
from exchange_sim.backoffice import NewWithdrawal, add_withdrawal
from incidents.models import Incident, UnfreezeRequest
from tests.factories import bearer, exchange_account, last_sms_code, OWNER_TOTP_SECRET, report_body

ROOT = Path(__file__).resolve().parents[2]


def _incident(app, incident_id: str) -> Incident:
    with app.extensions["lockdesk"].sessions() as session:
        incident = session.scalar(select(Incident).where(Incident.id == uuid.UUID(incident_id)))
        session.expunge(incident)
        return incident


def test_an_account_the_exchange_does_not_know_closes_the_case_at_once(client, app):
    answer = client.post("/api/v1/reports", json=report_body("NO-SUCH-ACCOUNT")).get_json()
    incident = _incident(app, answer["incident"]["id"])
    assert (incident.status, incident.outcome, incident.containment) == ("closed", "account_unknown", "freeze_failed")
    again = client.post(f"/api/v1/incidents/{incident.id}/verifications", headers=bearer(answer["access_token"]))
    assert again.status_code == 409 and again.get_json()["type"] != "/problems/account-details-pending"


def _verified_and_asked(client, app, account_id: str) -> tuple[dict, str]:
    exchange_account(app, account_id)
    answer = client.post("/api/v1/reports", json=report_body(account_id, transactions=[])).get_json()
    owner, incident_id = bearer(answer["access_token"]), answer["incident"]["id"]
    assert _incident(app, incident_id).status == "open"
    verification = client.post(f"/api/v1/incidents/{incident_id}/verifications", headers=owner).get_json()
    assert _incident(app, incident_id).status == "in_progress"  # the owner acted on the case
    client.post(f"/api/v1/verifications/{verification['id']}/totp",
                json={"code": pyotp.TOTP(OWNER_TOTP_SECRET).now()}, headers=owner)
    client.post(f"/api/v1/verifications/{verification['id']}/sms", headers=owner)
    client.post(f"/api/v1/verifications/{verification['id']}/sms/check", json={"code": last_sms_code(app)},
                headers=owner)
    asked = client.post(f"/api/v1/incidents/{incident_id}/unfreeze-requests", headers=owner)
    assert asked.status_code == 201, asked.get_json()
    return owner, incident_id


def test_someone_acting_moves_the_case_and_ending_it_cancels_its_unfreeze_request(client, app):
    _owner, incident_id = _verified_and_asked(client, app, "JOURNEY-1")
    with app.extensions["lockdesk"].sessions() as session:
        change_status(session, incident_id=uuid.UUID(incident_id), to="closed", reason="duplicate",
                      actor="staff:" + str(uuid.uuid4()))
        request = session.scalar(select(UnfreezeRequest).where(UnfreezeRequest.incident_id == uuid.UUID(incident_id)))
        assert request.status == "cancelled" and "closed by staff" in request.reason
    assert _incident(app, incident_id).containment == "frozen"  # closing never unfreezes


def test_a_hash_both_reported_and_pulled_from_the_exchange_is_traced_once(client, app):
    tx_hash = "0x" + "ab" * 32
    exchange_account(app, "JOURNEY-2")
    with app.extensions["lockdesk"].sessions() as session:
        add_withdrawal(session, withdrawal=NewWithdrawal(
            withdrawal_id="W-1", account_id="JOURNEY-2", chain="ethereum", asset="ETH", amount="1",
            address="0x" + "0a" * 20, tx_hash=tx_hash, created_at=utcnow()))
    answer = client.post("/api/v1/reports", json=report_body(
        "JOURNEY-2", transactions=[{"chain": "ethereum", "hash": tx_hash}])).get_json()
    app.extensions["lockdesk"].ports.dispatcher.drain()  # pulls the withdrawal with the same hash
    with app.extensions["lockdesk"].sessions() as session:
        traces = session.scalars(select(Trace).where(Trace.incident_id == uuid.UUID(answer["incident"]["id"]))).all()
    assert [(trace.chain, trace.tx_hash) for trace in traces] == [("ethereum", tx_hash)]


def test_make_run_serves_on_port_and_waits_two_minutes_in_the_demo():
    dry = subprocess.run(["make", "-n", "run", "PORT=5001"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--port 5001" in dry.stdout
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export UNFREEZE_MIN_WAIT_MINUTES ?= 2" in makefile
    readme = (ROOT / "README.md").read_text()
    assert "PORT=5001 make run" in readme and "2 minutes" in readme
