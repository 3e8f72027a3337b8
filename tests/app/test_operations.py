"""Liveness, readiness and metrics: what an orchestrator and Prometheus read (README, Operations)."""
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app.jobs import Worker
from tests.factories import report_body


def test_liveness_answers_without_touching_anything(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_when_the_database_answers_and_no_worker_runs_in_this_process(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": True, "worker": True}}


def test_not_ready_when_the_worker_has_stopped(app, client):
    worker = Worker(app.extensions["lockdesk"].ports.dispatcher)
    worker.stop()
    app.extensions["lockdesk"].ports.worker = worker
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not-ready", "checks": {"database": True, "worker": False}}


def test_not_ready_and_no_500_when_the_database_is_unreachable(app, client):
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    app.extensions["lockdesk"].sessions = sessionmaker(bind=unreachable)
    try:
        response = client.get("/readyz")
    finally:
        unreachable.dispose()
    assert response.status_code == 503
    assert response.get_json() == {"status": "not-ready", "checks": {"database": False, "worker": True}}


def metric(client, name: str, **labels) -> float:
    """One sample of the exposition, 0 if it has not been counted yet."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                return sample.value
    return 0.0


def test_a_report_is_counted_by_the_metrics_the_readme_lists(client):
    counted = {
        "lockdesk_reports_total": {"outcome": "opened"},
        "lockdesk_http_requests_total": {"method": "POST", "endpoint": "/api/v1/reports", "status": "201"},
        "lockdesk_exchange_commands_total": {"action": "freeze", "outcome": "done"},
        "lockdesk_report_to_frozen_seconds_count": {},
        "lockdesk_http_request_seconds_count": {"method": "POST", "endpoint": "/api/v1/reports"},
    }
    before = {name: metric(client, name, **labels) for name, labels in counted.items()}
    answer = client.post("/api/v1/reports", json=report_body())
    assert answer.status_code == 201 and answer.get_json()["incident"]["containment"] == "frozen"
    after = {name: metric(client, name, **labels) for name, labels in counted.items()}
    assert {name: after[name] - before[name] for name in counted} == dict.fromkeys(counted, 1.0)
