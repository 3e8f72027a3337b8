"""The OpenAPI document agrees with the service where the probe found it did not (item 12)."""
from __future__ import annotations

import uuid

from tests.factories import bearer, report_body, make_staff


def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def test_an_incident_is_documented_in_both_views_and_each_answer_fits_one(app, client):
    answer = client.post("/api/v1/reports", json=report_body("U1001")).get_json()
    schema = document(client)["paths"]["/api/v1/incidents/{incident_id}"]["get"]["responses"]["200"]
    views = [ref["$ref"].rsplit("/", 1)[1] for ref in schema["content"]["application/json"]["schema"]["anyOf"]]
    assert views == ["IncidentOut", "ReporterIncidentOut"]
    schemas = document(client)["components"]["schemas"]
    staff = client.get(f"/api/v1/incidents/{answer['incident']['id']}", headers=make_staff(app).headers).get_json()
    reporter = client.get(f"/api/v1/incidents/{answer['incident']['id']}",
                          headers=bearer(answer["access_token"])).get_json()
    assert set(staff) <= set(schemas["IncidentOut"]["properties"])
    assert not set(staff) <= set(schemas["ReporterIncidentOut"]["properties"])
    assert set(reporter) <= set(schemas["ReporterIncidentOut"]["properties"])


def test_any_cursor_of_the_documented_form_is_a_position_not_a_422(app, client):
    paths = document(client)["paths"]
    staff = make_staff(app, "risk_officer").headers
    for path, cursor in (("/api/v1/incidents", "1764700000000000.42"),
                         ("/api/v1/unfreeze-requests", "0." + uuid.uuid4().hex),
                         ("/api/v1/audit", "7")):
        parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert "pattern" in parameters["cursor"]["schema"], path
        assert client.get(f"{path}?cursor={cursor}", headers=staff).status_code == 200, path
        assert client.get(f"{path}?cursor=not-a-cursor", headers=staff).status_code == 422, path


def test_paging_with_the_new_cursors_walks_every_incident_once(app, client):
    for index in range(5):
        client.post("/api/v1/reports", json=report_body(f"P{index}"))
    staff, seen, cursor = make_staff(app).headers, [], None
    while True:
        page = client.get("/api/v1/incidents?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=staff)
        body = page.get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


def test_a_hash_is_documented_by_its_chain(client):
    schemas = document(client)["components"]["schemas"]
    for name, field in (("TransactionIn", "hash"), ("TraceIn", "tx_hash")):
        patterns = {str(option["properties"]["chain"]): option["properties"][field]["pattern"]
                    for option in schemas[name]["oneOf"]}
        assert patterns == {"{'enum': ['bitcoin', 'tron']}": "^[0-9a-fA-F]{64}$",
                            "{'not': {'enum': ['bitcoin', 'tron']}}": "^0x[0-9a-fA-F]{64}$"}


def test_a_trace_for_an_incident_that_is_not_there_is_404(app, client):
    response = client.post("/api/v1/traces", headers=make_staff(app).headers,
                           json={"chain": "bitcoin", "tx_hash": "ab" * 32, "incident_id": str(uuid.uuid4())})
    assert response.status_code == 404
