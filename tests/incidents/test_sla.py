"""SLA breaches found by the worker with its clock injected: audit, counter, risk-queue mail, signed webhook."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.db import utcnow
from app.jobs import build_worker
from incidents import signatures
from incidents.models import AuditEvent, Incident, OutboundWebhook, SlaEscalation
from tests.factories import seal_audit_events
from tests.incidents.review_support import frozen_case, incident_of, sessions_of
from tests.incidents.webhook_peer import Subscriber

WEBHOOK_SECRET = "whsec-outbound-test"


@pytest.fixture
def subscriber():
    handler = type("Recorded", (Subscriber,), {"received": [], "script": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}/hooks/lockdesk"
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings, subscriber, instance):
    settings.update(RISK_QUEUE_EMAIL="risk-queue@exchange.test", OUTBOUND_WEBHOOK_URLS=json.dumps([subscriber[1]]),
                    OUTBOUND_WEBHOOK_SECRET=WEBHOOK_SECRET, MAIL_LOG_PATH=str(instance / "mail.jsonl"))
    return settings


def breaches() -> float:
    return REGISTRY.get_sample_value("lockdesk_sla_breaches_total") or 0.0


def test_the_worker_escalates_a_breached_sla_once(app, subscriber, instance):
    handler, _url = subscriber
    case = frozen_case(app)
    due = incident_of(app, case).sla_due_at
    worker = build_worker(app)
    before = breaches()

    app.config["LOCKDESK_CLOCK"] = lambda: due - timedelta(minutes=1)
    worker._tick()
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count()).select_from(SlaEscalation)) == 0

    app.config["LOCKDESK_CLOCK"] = lambda: due + timedelta(minutes=1)
    worker.wake()  # the clock moved past the deadline: every job looks now, not after its idle poll interval
    worker._tick()
    worker._tick()
    assert breaches() == before + 1
    with sessions_of(app)() as session:
        assert session.get(SlaEscalation, case.incident_id) is not None
        assert session.scalar(select(Incident.queue).where(Incident.id == case.incident_id)) == "risk"
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "incident.sla_breached")))
    assert len(events) == 1 and events[0].actor == "sla-clock"
    mails = [json.loads(line) for line in (instance / "mail.jsonl").read_text().splitlines()]
    risk_mail = [mail for mail in mails if mail["to"] == "risk-queue@exchange.test"]
    assert len(risk_mail) == 1 and "SLA breached" in risk_mail[0]["subject"]
    breached = [json.loads(body) for _headers, body in handler.received
                if json.loads(body)["type"] == "incident.sla_breached"]
    assert len(breached) == 1 and breached[0]["incident_id"] == str(case.incident_id)
    assert breached[0]["reference"].startswith("INC-")


def test_webhooks_are_signed_and_retried_with_backoff(app, subscriber):
    handler, _url = subscriber
    handler.script = [500]
    frozen_case(app)
    jobs = app.extensions["lockdesk"].ports.review_jobs
    seal_audit_events(app)
    jobs.deliver_webhooks()
    with sessions_of(app)() as session:
        rows = list(session.scalars(select(OutboundWebhook)))
    assert {row.event_type for row in rows} >= {"incident.opened", "incident.containment.freeze_pending",
                                                "incident.containment.frozen"}
    failed = [row for row in rows if row.status == "pending"]
    assert len(failed) == 1 and failed[0].last_error == "HTTP 500" and failed[0].next_attempt_at > utcnow()

    app.config["LOCKDESK_CLOCK"] = lambda: utcnow() + timedelta(minutes=5)
    jobs.deliver_webhooks()
    with sessions_of(app)() as session:
        assert {row.status for row in session.scalars(select(OutboundWebhook))} == {"done"}
    for headers, body in handler.received:
        signed_at, _candidates = signatures.parse_header(headers["X-Lockdesk-Signature"])
        assert signatures.verify(headers["X-Lockdesk-Signature"], body, secrets=[WEBHOOK_SECRET],
                                 now=datetime.fromtimestamp(signed_at, UTC)) == signed_at
        with pytest.raises(signatures.BadSignature):
            signatures.verify(headers["X-Lockdesk-Signature"], body + b" ", secrets=[WEBHOOK_SECRET],
                              now=datetime.fromtimestamp(signed_at, UTC))
        assert headers["X-Lockdesk-Event"] == json.loads(body)["type"]
    deliveries = [headers["X-Lockdesk-Delivery"] for headers, _body in handler.received]
    assert len(deliveries) == len(rows) + 1 and len(set(deliveries)) == len(rows)
