"""Staff routes of API.md "Incidents": queue, detail, timeline, transitions, manual freeze, roles."""
import pytest

from tests.factories import bearer, report_body


def open_incident(client, account="U1001", **overrides) -> dict:
    return client.post("/api/v1/reports", json=report_body(account, **overrides)).get_json()["incident"]


def test_staff_need_a_valid_token(client):
    assert client.get("/api/v1/incidents").status_code == 401
    response = client.get("/api/v1/incidents", headers=bearer("lds_not-a-real-token"))
    assert response.status_code == 401 and response.get_json()["type"] == "/problems/unauthorized"
    assert client.get("/api/v1/incidents", headers={"Authorization": "Basic abc"}).status_code == 401


def test_the_queue_pages_through_every_incident_once_in_sla_order(client, agent):
    ids = {open_incident(client, f"A{i}")["id"] for i in range(7)}
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/incidents", query_string=query, headers=agent.headers).get_json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {item["id"] for item in seen} == ids and len(seen) == 7
    dues = [item["sla_due_at"] for item in seen]
    assert dues == sorted(dues)


def test_the_queue_sorts_newest_first_when_asked(client, agent):
    for i in range(3):
        open_incident(client, f"N{i}")
    items = client.get("/api/v1/incidents?sort=-created_at", headers=agent.headers).get_json()["items"]
    created = [item["created_at"] for item in items]
    assert created == sorted(created, reverse=True)


def test_the_queue_filters_by_account_and_status(client, agent):
    open_incident(client, "A1")
    open_incident(client, "B1")
    items = client.get("/api/v1/incidents?account_id=B1&status=open", headers=agent.headers).get_json()["items"]
    assert [item["account_id"] for item in items] == ["B1"]


@pytest.mark.parametrize("query,field", [("limit=0", "limit"), ("limit=201", "limit"), ("sort=name", "sort"),
                                         ("status=gone", "status"), ("cursor=%%%", "cursor")])
def test_bad_list_arguments_are_422_naming_the_field(client, agent, query, field):
    response = client.get(f"/api/v1/incidents?{query}", headers=agent.headers)
    assert response.status_code == 422 and field in response.get_json()["errors"]


def test_staff_see_the_whole_incident(client, agent):
    incident = open_incident(client)
    detail = client.get(f"/api/v1/incidents/{incident['id']}", headers=agent.headers).get_json()
    assert detail["account_id"] == "U1001" and detail["severity"] == "critical"
    assert detail["reports"][0]["contact"]["email"] == "owner@example.com"
    assert detail["transactions"] == [{"chain": "ethereum", "hash": "0x" + "ab" * 32, "source": "report"}]
    assert {"anomalies", "withdrawals", "verification", "unfreeze_request", "traces"} <= set(detail)


def test_an_unknown_incident_is_404(client, agent):
    response = client.get("/api/v1/incidents/00000000-0000-0000-0000-000000000000", headers=agent.headers)
    assert response.status_code == 404 and response.content_type == "application/problem+json"


def test_legal_transitions_move_the_ticket_and_are_audited(client, agent):
    incident = open_incident(client)
    url = f"/api/v1/incidents/{incident['id']}"
    moved = client.post(f"{url}/transitions", json={"to": "in_progress", "reason": "taking it"}, headers=agent.headers)
    assert moved.status_code == 200 and moved.get_json()["status"] == "in_progress"
    timeline = client.get(f"{url}/timeline", headers=agent.headers).get_json()["items"]
    assert any(e["action"] == "incident.status.in_progress" and e["data"]["reason"] == "taking it" for e in timeline)
    ids = [e["id"] for e in timeline]
    assert ids == sorted(ids)


def test_an_illegal_transition_is_409_and_changes_nothing(client, agent):
    incident = open_incident(client)
    url = f"/api/v1/incidents/{incident['id']}"
    client.post(f"{url}/transitions", json={"to": "closed", "reason": "duplicate"}, headers=agent.headers)
    response = client.post(f"{url}/transitions", json={"to": "in_progress"}, headers=agent.headers)
    assert response.status_code == 409 and response.get_json()["type"] == "/problems/illegal-transition"
    assert client.get(url, headers=agent.headers).get_json()["status"] == "closed"


def test_a_closed_incident_lets_the_next_report_open_a_new_one(client, agent):
    first = open_incident(client)
    client.post(f"/api/v1/incidents/{first['id']}/transitions", json={"to": "closed"}, headers=agent.headers)
    second = client.post("/api/v1/reports", json=report_body())
    assert second.status_code == 201 and second.get_json()["incident"]["id"] != first["id"]


def test_staff_can_freeze_a_watch_incident_by_hand(client, agent, session):
    from tests.app.test_anomalies import event, post

    post(client, event("e1", type_="sim_swap"))
    incident_id = client.get("/api/v1/incidents", headers=agent.headers).get_json()["items"][0]["id"]
    response = client.post(f"/api/v1/incidents/{incident_id}/freeze", json={"scope": "withdrawals",
                                                                             "reason": "owner called"}, headers=agent.headers)
    assert response.status_code == 202 and response.get_json()["action"] == "freeze"
    again = client.post(f"/api/v1/incidents/{incident_id}/freeze", json={"reason": "again"}, headers=agent.headers)
    assert again.status_code == 409


def test_a_freeze_needs_a_reason_and_a_known_scope(client, agent):
    incident = open_incident(client)
    response = client.post(f"/api/v1/incidents/{incident['id']}/freeze", json={"scope": "half"}, headers=agent.headers)
    assert response.status_code == 422 and {"scope", "reason"} <= set(response.get_json()["errors"])


def test_the_audit_list_is_for_officers_and_admins(client, agent, officer):
    incident = open_incident(client)
    assert client.get("/api/v1/audit", headers=agent.headers).status_code == 403
    events = client.get(f"/api/v1/audit?incident_id={incident['id']}", headers=officer.headers).get_json()["items"]
    assert events and all(e["incident_id"] == incident["id"] for e in events)
