"""Races the database must settle: one open incident per account, one answer per webhook event id."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from incidents.models import AnomalyEvent, Incident, Report
from tests.app.anomaly_support import event
from tests.factories import report_body, signed_anomaly

pytestmark = pytest.mark.slow


@pytest.fixture
def server(app):
    """The application on a real threaded HTTP server on loopback."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_fifty_concurrent_reports_for_one_account_make_exactly_one_incident(server, session, is_postgresql):
    barrier = threading.Barrier(50)

    def report(i: int):
        barrier.wait()
        return requests.post(f"{server}/api/v1/reports", json=report_body("RACE-1", description=f"r{i}"),
                             headers={"Idempotency-Key": f"key-{i}"}, timeout=60)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(report, range(50)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 49 + [201]
    assert len({a.json()["incident"]["id"] for a in answers}) == 1
    assert session.scalar(select(func.count()).select_from(Incident)) == 1
    assert session.scalar(select(func.count()).select_from(Report)) == 50


def test_the_same_event_posted_concurrently_is_stored_once(server, session):
    raw, headers = signed_anomaly(event("same-event", type_="sim_swap"))
    barrier = threading.Barrier(10)

    def post(_):
        barrier.wait()
        return requests.post(f"{server}/api/v1/anomalies", data=raw, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(post, range(10)))
    assert sorted(a.status_code for a in answers) == [200] * 9 + [202]
    assert len({a.json()["action"] for a in answers}) == 1
    assert session.scalar(select(func.count()).select_from(AnomalyEvent)) == 1
