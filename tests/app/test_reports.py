"""POST /api/v1/reports: validation, incident per account, access tokens, idempotency, rate limits."""
import pytest
from sqlalchemy import func, select, update

from kernel.errors import Conflict
from incidents.models import AccessToken, AuditEvent, ExchangeCommand, Incident, Report
from app.idempotency_record import IdempotencyRecord
from tests.factories import bearer, report_body


def counts(session) -> dict[str, int]:
    """How many rows each intake table holds."""
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Incident, Report, ExchangeCommand, AccessToken, AuditEvent, IdempotencyRecord)}


def test_a_report_opens_an_incident_and_queues_the_freeze(client, session):
    response = client.post("/api/v1/reports", json=report_body())
    assert response.status_code == 201
    body = response.get_json()
    incident = body["incident"]
    assert response.headers["Location"] == f"/api/v1/incidents/{incident['id']}"
    assert incident["status"] == "open"
    assert incident["containment"] in ("freeze_pending", "frozen")
    assert incident["reference"].startswith("INC-") and len(incident["reference"]) == len("INC-2026-000123")
    assert incident["created_at"].endswith("Z") and incident["sla_due_at"].endswith("Z")
    assert body["attached"] is False
    assert body["access_token"].startswith("ldi_")
    actions = sorted(session.scalars(select(ExchangeCommand.action)))
    assert actions == ["contain", "freeze"]  # the follow-ups (revoke, cancel, pull, describe) travel as one


def test_a_second_report_for_the_account_attaches_to_the_open_incident(client):
    first = client.post("/api/v1/reports", json=report_body()).get_json()
    second = client.post("/api/v1/reports", json=report_body(kind="phishing"))
    assert second.status_code == 200
    assert second.get_json()["attached"] is True
    assert second.get_json()["incident"]["id"] == first["incident"]["id"]


def test_reports_for_different_accounts_get_different_incidents(client):
    a = client.post("/api/v1/reports", json=report_body("A1")).get_json()["incident"]
    b = client.post("/api/v1/reports", json=report_body("B1")).get_json()["incident"]
    assert a["id"] != b["id"] and a["reference"] != b["reference"]


def test_the_access_token_is_stored_only_as_a_hash(client, session):
    token = client.post("/api/v1/reports", json=report_body()).get_json()["access_token"]
    stored = session.scalars(select(AccessToken.token_hash)).all()
    assert token not in stored and len(stored[0]) == 64
    assert len(token) - len("ldi_") >= 43  # 32 random bytes, base64url: 256 bits ≥ 128 required


def test_the_sla_due_time_is_24_hours_by_default(client):
    incident = client.post("/api/v1/reports", json=report_body()).get_json()["incident"]
    from datetime import datetime

    created = datetime.fromisoformat(incident["created_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(incident["sla_due_at"].replace("Z", "+00:00"))
    assert (due - created).total_seconds() == pytest.approx(24 * 3600, abs=1)


BAD_BODIES = {
    "missing account": ({"kind": "stolen_account"}, "account_id"),
    "missing kind": ({"account_id": "U1"}, "kind"),
    "wrong type": ({"account_id": 12, "kind": "stolen_account"}, "account_id"),
    "bad enum": ({"account_id": "U1", "kind": "hacked"}, "kind"),
    "unknown field": ({"account_id": "U1", "kind": "other", "admin": True}, "admin"),
    "bad account id": ({"account_id": "U 1; drop", "kind": "other"}, "account_id"),
    "bad email": ({"account_id": "U1", "kind": "other", "contact": {"email": "x"}}, "contact.email"),
    "bad phone": ({"account_id": "U1", "kind": "other", "contact": {"phone": "555"}}, "contact.phone"),
    "naive time": ({"account_id": "U1", "kind": "other", "last_legitimate_activity_at": "2026-11-20T22:00:00"},
                   "last_legitimate_activity_at"),
    "bad hash": ({"account_id": "U1", "kind": "other", "transactions": [{"chain": "ethereum", "hash": "0x12"}]},
                 "transactions.0.hash"),
    "bitcoin hash with 0x": ({"account_id": "U1", "kind": "other",
                              "transactions": [{"chain": "bitcoin", "hash": "0x" + "a" * 64}]}, "transactions.0.hash"),
    "tron hash with 0x": ({"account_id": "U1", "kind": "other",
                           "transactions": [{"chain": "tron", "hash": "0x" + "a" * 64}]}, "transactions.0.hash"),
    "bare hash for ethereum": ({"account_id": "U1", "kind": "other",
                                "transactions": [{"chain": "ethereum", "hash": "a" * 64}]}, "transactions.0.hash"),
    "too many transactions": ({"account_id": "U1", "kind": "other",
                               "transactions": [{"chain": "ethereum", "hash": "0x" + "a" * 64}] * 21}, "transactions"),
    "bad language": ({"account_id": "U1", "kind": "other", "language": "klingon"}, "language"),
    "negative loss": ({"account_id": "U1", "kind": "other", "loss_usd": "-5"}, "loss_usd"),
    "not an object": ([1, 2], "body"),
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_input_is_a_422_problem_naming_the_field_and_stores_nothing(client, session, name):
    body, field = BAD_BODIES[name]
    before = counts(session)
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/validation" and problem["status"] == 422
    assert field in problem["errors"]
    assert problem["instance"] == response.headers["X-Request-Id"]
    assert counts(session) == before


def test_malformed_json_is_a_400_problem(client, session):
    before = counts(session)
    response = client.post("/api/v1/reports", data='{"account_id": ', content_type="application/json")
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    assert counts(session) == before


def test_a_body_that_is_not_json_is_a_415_problem(client, session):
    before = counts(session)
    response = client.post("/api/v1/reports", data="account_id=U1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and response.get_json()["type"] == "/problems/unsupported-media-type"
    assert counts(session) == before


def test_a_body_over_64_kib_is_a_413_problem(client, session):
    body = report_body(description="x" * (65 * 1024))
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 413 and response.content_type == "application/problem+json"
    assert counts(session)["incidents"] == 0


def test_the_same_idempotency_key_and_body_gives_the_first_answer_again(client, session):
    headers = {"Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/reports", json=report_body(), headers=headers)
    again = client.post("/api/v1/reports", json=report_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert counts(session)["reports"] == 1


def test_the_same_idempotency_key_with_another_body_is_a_422_mismatch(client, session):
    client.post("/api/v1/reports", json=report_body(), headers={"Idempotency-Key": "k-1"})
    other = client.post("/api/v1/reports", json=report_body(kind="phishing"), headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.get_json()["type"] == "/problems/idempotency-mismatch"
    assert counts(session)["reports"] == 1


def test_a_request_whose_key_is_still_in_flight_gets_409(client, session):
    from datetime import timedelta

    from app.db import utcnow

    session.add(IdempotencyRecord(scope="reports", key="busy", request_hash=_hash(report_body()),
                                  created_at=utcnow(), expires_at=utcnow() + timedelta(hours=24)))
    session.commit()
    response = client.post("/api/v1/reports", json=report_body(), headers={"Idempotency-Key": "busy"})
    assert response.status_code == 409 and response.get_json()["type"] == "/problems/in-flight"


def _hash(body) -> str:
    import hashlib

    from incidents.audit import canonical_json

    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def test_a_malformed_idempotency_key_is_refused_by_name(client):
    response = client.post("/api/v1/reports", json=report_body(), headers={"Idempotency-Key": "a b"})
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["errors"]


def test_a_failed_request_releases_its_idempotency_key(client, session):
    bad = client.post("/api/v1/reports", json={"account_id": "U1"}, headers={"Idempotency-Key": "fix-me"})
    assert bad.status_code == 422
    assert counts(session)["idempotency_records"] == 0


def test_the_replayed_answer_is_kept_encrypted(client, session):
    token = client.post("/api/v1/reports", json=report_body(), headers={"Idempotency-Key": "enc"}).get_json()[
        "access_token"]
    from sqlalchemy import text

    raw = session.execute(text("SELECT response_body FROM idempotency_records")).scalar()
    assert token not in raw


class TestRateLimits:
    @pytest.fixture
    def settings(self, settings):
        settings.update(REPORT_RATE_LIMIT="3 per minute", REPORT_ACCOUNT_RATE_LIMIT="2 per minute")
        return settings

    def test_the_report_endpoint_is_limited_per_client_address(self, client):
        answers = [client.post("/api/v1/reports", json=report_body(f"A{i}")) for i in range(4)]
        assert [a.status_code for a in answers[:3]] == [201, 201, 201]
        limited = answers[3]
        assert limited.status_code == 429 and limited.get_json()["type"] == "/problems/rate-limited"
        assert int(limited.headers["Retry-After"]) > 0

    def test_the_report_endpoint_is_limited_per_account(self, client):
        statuses = [client.post("/api/v1/reports", json=report_body("SAME"),
                                environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(3)]
        assert statuses == [201, 200, 429]


def test_a_reporter_reads_its_own_incident_redacted(client):
    mine = client.post("/api/v1/reports", json=report_body()).get_json()
    client.post("/api/v1/reports", json=report_body(description="second reporter's secret",
                                                    contact={"email": "other@example.com"}))
    view = client.get(f"/api/v1/incidents/{mine['incident']['id']}", headers=bearer(mine["access_token"]))
    assert view.status_code == 200
    text = view.get_data(as_text=True)
    assert "second reporter's secret" not in text and "other@example.com" not in text
    assert "anomalies" not in view.get_json() and "risk_score" not in view.get_json()
    assert view.get_json()["report"]["contact"]["email"] != "owner@example.com"  # masked


def test_a_reporter_token_cannot_read_another_incident(client):
    mine = client.post("/api/v1/reports", json=report_body("A1")).get_json()
    theirs = client.post("/api/v1/reports", json=report_body("B1")).get_json()
    response = client.get(f"/api/v1/incidents/{theirs['incident']['id']}", headers=bearer(mine["access_token"]))
    assert response.status_code == 404


def test_a_reporter_token_cannot_use_staff_routes(client):
    mine = client.post("/api/v1/reports", json=report_body()).get_json()
    assert client.get("/api/v1/incidents", headers=bearer(mine["access_token"])).status_code == 403
    assert client.get(f"/api/v1/incidents/{mine['incident']['id']}/timeline",
                      headers=bearer(mine["access_token"])).status_code == 403


class TestRateLimitsSharedThroughRedis:
    """With RATELIMIT_STORAGE_URI on Redis, every process counts against the same limit."""

    @pytest.fixture
    def settings(self, settings):
        from tests import services

        services.require("redis")
        settings.update(REPORT_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=services.REDIS_URL)
        return settings

    def test_two_application_processes_share_one_count(self, client, settings, instance):
        import json
        import random
        import subprocess
        import sys

        # A client address of this run's own, so counts other runs left in Redis cannot interfere.
        address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        here = [client.post("/api/v1/reports", json=report_body(f"R{i}"),
                            environ_base={"REMOTE_ADDR": address}).status_code for i in range(2)]
        script = ("import json, sys\nfrom app import create_app\n"
                  "client = create_app(json.loads(sys.argv[1])).test_client()\n"
                  "print(json.dumps([client.post('/api/v1/reports', json={'account_id': f'S{i}', 'kind': 'other'}, "
                  "environ_base={'REMOTE_ADDR': sys.argv[2]}).status_code for i in range(2)]))")
        env = {"LOCKDESK_INSTANCE_PATH": str(instance), "PATH": "/usr/bin:/bin"}
        there = subprocess.run([sys.executable, "-c", script, json.dumps(settings), address], capture_output=True,
                               text=True, timeout=120, env=env, check=True).stdout.strip().splitlines()[-1]
        assert here == [201, 201] and json.loads(there) == [201, 429]


def test_a_report_that_fails_after_its_first_writes_leaves_nothing_half_written(client, session, monkeypatch):
    """Intake writes the incident first, then the report, commands, token and audit events (Core INSERTs, not one
    flush at the end); a failure in that last write, after its first rows are in, rolls all of them back with the
    incident (DESIGN §6)."""
    import incidents.intake

    real_insert_together = incidents.intake.insert_together

    def broken_after_the_report(connection, parts):
        real_insert_together(connection, parts[:1])
        raise RuntimeError("the token store is down")

    monkeypatch.setattr(incidents.intake, "insert_together", broken_after_the_report)
    response = client.post("/api/v1/reports", json=report_body())
    assert response.status_code == 500 and response.content_type == "application/problem+json"
    session.rollback()  # read what other transactions see now
    assert counts(session) == {"incidents": 0, "reports": 0, "exchange_commands": 0, "access_tokens": 0,
                               "audit_events": 0, "idempotency_records": 0}
    session.rollback()  # SQLite: the read's transaction holds the write lock the next report needs
    monkeypatch.undo()
    assert client.post("/api/v1/reports", json=report_body()).status_code == 201  # and the account is not stuck


def test_an_open_incident_closed_between_the_insert_and_the_read_is_retried_into_a_new_one(session, monkeypatch):
    """The insert finds the account's incident open, the read finds it closed meanwhile: intake tries again
    and opens the new incident, so the account keeps exactly one open incident (DESIGN §2 flow 1)."""
    from incidents import intake

    first = intake.submit_report(session, report=intake.ReportInput(account_id="U1001", kind="stolen_account"))
    real_find = intake.find_open_incident

    def closed_meanwhile(db_session, *, account_id):
        db_session.execute(update(Incident).where(Incident.id == first.incident.id).values(status="closed"))
        return real_find(db_session, account_id=account_id)

    monkeypatch.setattr(intake, "find_open_incident", closed_meanwhile)
    second = intake.submit_report(session, report=intake.ReportInput(account_id="U1001", kind="stolen_account"))
    assert second.attached is False and second.incident.id != first.incident.id
    statuses = session.execute(select(Incident.id, Incident.status).order_by(Incident.number)).all()
    assert [status for _id, status in statuses] == ["closed", "open"]


def test_an_open_incident_that_keeps_changing_gives_up_and_writes_nothing(session, monkeypatch):
    from incidents import intake

    intake.submit_report(session, report=intake.ReportInput(account_id="U1001", kind="stolen_account"))
    monkeypatch.setattr(intake, "find_open_incident", lambda _session, *, account_id: None)
    with pytest.raises(Conflict, match="kept changing"):
        intake.submit_report(session, report=intake.ReportInput(account_id="U1001", kind="stolen_account"))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Incident)) == 1
    assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_a_report_whose_open_incident_keeps_changing_is_a_409_problem_and_writes_nothing(client, session,
                                                                                       monkeypatch):
    from incidents import intake

    assert client.post("/api/v1/reports", json=report_body()).status_code == 201
    before = counts(session)
    session.rollback()  # SQLite: the test's read must not hold the write lock the next report needs
    monkeypatch.setattr(intake, "find_open_incident", lambda _session, *, account_id: None)
    answer = client.post("/api/v1/reports", json=report_body())
    assert answer.status_code == 409 and answer.content_type == "application/problem+json"
    assert "kept changing" in answer.get_json()["detail"]
    assert counts(session) == before
