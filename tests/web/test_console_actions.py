"""Case actions on the staff console that only the console offers: a freeze by hand and a risk officer's
manual identity review (each with its refusals told on the page and nothing written)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from chain.models import Trace
from exchange_sim.models import BackofficeAccount
from incidents.models import ExchangeCommand, Incident
from tests.factories import exchange_account
from tests.web.conftest import csrf_of, run_follow_ups
from tests.web.pages import sign_in
from tests.web.pages import incident_of, report
from verification.models import Verification


def read(app, query):
    """One value, read in a session of its own."""
    with app.extensions["lockdesk"].sessions() as session:
        return session.scalar(query)


def reported(app, account_id: str) -> uuid.UUID:
    """An owner's report of `account_id`; the incident's id."""
    owner = app.test_client()
    return uuid.UUID(incident_of(owner.get(report(owner, account_id).headers["Location"]).text)[0])


def act(client, incident_id: uuid.UUID, action: str, **form) -> str:
    """Post a case action with the page's CSRF token; the case page it redirects to."""
    case_url = f"/console/incidents/{incident_id}"
    answer = client.post(f"{case_url}/{action}", data={"csrf_token": csrf_of(client.get(case_url).text), **form})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(case_url)
    return client.get(case_url).text


def freezes(app, incident_id: uuid.UUID) -> int:
    """Freeze commands written for the incident."""
    return read(app, select(func.count()).select_from(ExchangeCommand).where(
        ExchangeCommand.incident_id == incident_id, ExchangeCommand.action == "freeze"))


def test_an_agent_freezes_by_hand_once_the_exchange_knows_the_account(app, client, agent, clock):
    incident_id = reported(app, "U4001")  # the exchange does not know the account yet: the freeze fails
    assert read(app, select(Incident.containment).where(Incident.id == incident_id)) == "freeze_failed"
    exchange_account(app, "U4001")
    sign_in(client, agent, clock)

    page = act(client, incident_id, "freeze", reason="   ")
    assert "Give a reason for the freeze." in page and freezes(app, incident_id) == 1

    page = act(client, incident_id, "freeze", reason="The exchange knows the account now", scope="withdrawals")
    assert "Freeze requested." in page
    assert read(app, select(Incident.containment).where(Incident.id == incident_id)) == "frozen"
    assert read(app, select(BackofficeAccount.state).where(BackofficeAccount.id == "U4001")) == "frozen"
    command = read(app, select(ExchangeCommand).where(ExchangeCommand.incident_id == incident_id,
                                                      ExchangeCommand.status == "done",
                                                      ExchangeCommand.action == "freeze"))
    assert command.payload["scope"] == "withdrawals" and command.payload["reason"].startswith("The exchange")


def test_a_risk_officer_reviews_identity_by_hand_and_the_owner_sees_it_verified(app, client, agent, officer,
                                                                                 clock):
    exchange_account(app, "U4002", bound_days_ago=1)
    owner = app.test_client()
    answer = owner.get(report(owner, "U4002").headers["Location"])
    incident_id = uuid.UUID(incident_of(answer.text)[0])
    run_follow_ups(app)
    case = owner.get(f"/i/{incident_id}")
    owner.post(f"/i/{incident_id}/verification", data={"csrf_token": csrf_of(case.text)})
    assert "A risk officer will check your identity documents" in owner.get(f"/i/{incident_id}").text

    sign_in(client, agent, clock)
    refused = client.post(f"/console/incidents/{incident_id}/identity-review", data={
        "csrf_token": csrf_of(client.get(f"/console/incidents/{incident_id}").text), "decision": "approve",
        "evidence": "passport seen"})
    assert refused.status_code == 403

    officer_client = app.test_client()
    sign_in(officer_client, officer, clock)
    page = act(officer_client, incident_id, "identity-review", decision="approve", evidence=" ")
    assert "Describe the evidence you checked." in page
    assert read(app, select(Verification.status).where(Verification.incident_id == incident_id)) == "manual_review"

    page = act(officer_client, incident_id, "identity-review", decision="approve",
               evidence="Passport and a selfie matched the account holder on a video call")
    assert "Identity review recorded." in page
    assert read(app, select(Verification.status).where(Verification.incident_id == incident_id)) == "passed"
    assert "Your identity is verified." in owner.get(f"/i/{incident_id}").text
    assert "officer-1" in page  # the timeline names who decided


@pytest.fixture
def settings(settings):
    """An Ethereum node configured (never called: a trace is only queued by the page)."""
    return {**settings, "ETH_RPC_URL": "http://127.0.0.1:9"}


def traces(app) -> list[Trace]:
    """Every queued trace."""
    with app.extensions["lockdesk"].sessions() as session:
        found = list(session.scalars(select(Trace)))
        session.expunge_all()
        return found


def test_an_agent_pastes_a_withdrawal_hash_and_lands_on_its_trace(app, client, agent, clock):
    sign_in(client, agent, clock)
    form = client.get("/console/traces")
    answer = client.post("/console/traces", data={"csrf_token": csrf_of(form.text), "chain": "Ethereum",
                                                  "tx_hash": " 0x" + "AB" * 32 + " ", "depth": "2"})
    (trace,) = traces(app)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/console/traces/{trace.id}")
    assert (trace.chain, trace.tx_hash, trace.depth, trace.status) == ("ethereum", "0x" + "ab" * 32, 2, "queued")
    assert trace.requested_by == f"staff:{agent.id}" and trace.incident_id is None


@pytest.mark.parametrize(("fields", "told"), [
    ({"chain": "ethereum", "tx_hash": "0x1234", "depth": "3"}, "0x followed by 64 hex characters"),
    ({"chain": "ethereum", "tx_hash": "0x" + "ab" * 32, "depth": "deep"}, "must be a whole number from 0 to"),
    ({"chain": "ethereum", "tx_hash": "0x" + "ab" * 32, "depth": "99"}, "must be a whole number from 0 to"),
    ({"chain": "dogecoin", "tx_hash": "ab" * 32, "depth": "3"}, "Tracing on dogecoin is not set up"),
])
def test_a_hash_the_tracer_cannot_take_is_told_on_the_form_and_nothing_is_queued(app, client, agent, clock, fields,
                                                                                 told):
    sign_in(client, agent, clock)
    answer = client.post("/console/traces", data={"csrf_token": csrf_of(client.get("/console/traces").text),
                                                  **fields})
    assert answer.status_code == 422 and told in answer.text
    assert f'value="{fields["tx_hash"]}"' in answer.text  # what the agent typed is kept
    assert traces(app) == []


def test_a_trace_asked_for_on_a_case_page_belongs_to_the_case(app, client, agent, clock):
    incident_id = reported(app, "U4003")
    sign_in(client, agent, clock)
    page = act(client, incident_id, "traces", chain="ethereum", tx_hash="0x" + "cd" * 32, depth="3")
    assert "Trace queued." in page
    assert {(trace.tx_hash, trace.incident_id) for trace in traces(app)} >= {("0x" + "cd" * 32, incident_id)}


def test_the_unfreeze_queue_shows_pending_requests_and_ignores_an_unknown_status(client, agent, clock):
    sign_in(client, agent, clock)
    for query in ("", "?status=pending", "?status=everything"):
        page = client.get(f"/console/unfreeze-requests{query}")
        assert page.status_code == 200 and 'value="pending" selected' in page.text
