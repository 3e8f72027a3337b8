"""The console's side of freeze requests between exchanges: send from the case page, see the state and the
late flag, see a peer's request and release its hold with a reason."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.handoff.models import SentFreezeRequest
from tests.handoff.pair import alpha_case, beta_customer
from tests.factories import make_staff
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.slow


def console(app, role: str):
    """A signed-in console client of an instance."""
    member = make_staff(app, role, f"{role}-console")
    client = app.test_client()
    form = client.get("/console/sign-in")
    signed = client.post("/console/sign-in", data={
        "csrf_token": csrf_of(form.text), "name": member.name, "password": member.password,
        "code": member.code(datetime.now(UTC)), "next": "/console/"})
    assert signed.status_code == 303
    return client


def test_an_agent_sends_from_the_case_page_and_both_consoles_show_the_request(pair):
    beta_customer(pair)
    incident_id, _trace_id, _token = alpha_case(pair)
    alpha = console(pair.alpha.app, "agent")
    page = alpha.get(f"/console/incidents/{incident_id}").text
    assert "Ask Beta to hold the deposits" in page
    sent = alpha.post(f"/console/incidents/{incident_id}/freeze-requests", data={
        "csrf_token": csrf_of(page), "trace_id": _trace_id, "exchange": "Beta"})
    assert sent.status_code == 303
    pair.alpha.tick()
    pair.beta.tick(rounds=2)
    page = alpha.get(f"/console/incidents/{incident_id}").text
    assert 'data-testid="peer-requests"' in page and "Held" in page and "PFR-" in page

    beta = console(pair.beta.app, "risk_officer")
    queue = beta.get("/console/", query_string={"account_id": "V2002"}).text
    case_path = queue.split('href="/console/incidents/')[1].split('"')[0]
    case = beta.get(f"/console/incidents/{case_path}").text
    assert "Held at the request of Alpha" in case and "Release the hold" in case
    refused = beta.post(f"/console/incidents/{case_path}/peer-hold/release",
                        data={"csrf_token": csrf_of(case), "reason": " "}, follow_redirects=True).text
    assert "Give the reason for releasing the hold." in refused
    released = beta.post(f"/console/incidents/{case_path}/peer-hold/release",
                         data={"csrf_token": csrf_of(case), "reason": "funds were the customer's own"},
                         follow_redirects=True).text
    assert "The hold is released" in released and "Release the hold" not in released


def test_the_queue_flags_a_request_not_acknowledged_in_time(pair):
    incident_id, trace_id, token = alpha_case(pair)
    pair.beta.stop()
    pair.alpha.api("POST", f"/api/v1/traces/{trace_id}/freeze-requests", token, json={"exchange": "Beta"})
    with pair.alpha.app.extensions["lockdesk"].sessions() as session:
        row = session.query(SentFreezeRequest).one()
        row.ack_due_at = row.created_at - timedelta(minutes=1)
        session.commit()
    alpha = console(pair.alpha.app, "agent")
    queue = alpha.get("/console/").text
    assert 'data-testid="late-peer-requests"' in queue and f"/console/incidents/{incident_id}" in queue
    assert 'data-testid="late"' in alpha.get(f"/console/incidents/{incident_id}").text
