"""An owner's text message the SMS gateway refuses with a 4xx fails for good, once, and staff see it."""
from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

import pytest
from sqlalchemy import select

from incidents.models import AuditEvent, Notification
from tests.factories import seal_audit_events
from tests.incidents.review_support import frozen_case, sessions_of
from tests.verification.twilio_peer import FROM, FakeTwilio, SID, TOKEN


@pytest.fixture
def twilio(settings):
    """A Twilio-compatible server on a socket; the application sends its texts there."""
    FakeTwilio.received, FakeTwilio.answer_status = [], 201
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    settings.update(SMS_GATEWAY="twilio", TWILIO_ACCOUNT_SID=SID, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM=FROM,
                    TWILIO_API_BASE=f"http://127.0.0.1:{server.server_address[1]}")
    yield FakeTwilio
    server.shutdown()
    server.server_close()


def deliver_texts(app) -> list[Notification]:
    """Seal, deliver what is due, and read back the SMS rows."""
    seal_audit_events(app)
    app.extensions["lockdesk"].ports.review_jobs.deliver_notifications()
    seal_audit_events(app)
    with sessions_of(app)() as session:
        return list(session.scalars(select(Notification).where(Notification.channel == "sms")))


def test_a_text_the_gateway_refuses_as_a_bad_number_fails_at_the_first_attempt_and_staff_see_it(twilio, app):
    twilio.answer_status = 400
    case = frozen_case(app)
    texts = deliver_texts(app)
    assert texts and {(row.status, row.attempts) for row in texts} == {("failed", 1)}
    assert all("HTTP 400" in row.last_error for row in texts)
    with sessions_of(app)() as session:
        told = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "notification.failed",
                                                             AuditEvent.incident_id == case.incident_id)))
    assert len(told) == len(texts)
    assert {event.data["channel"] for event in told} == {"sms"} and "HTTP 400" in told[0].data["reason"]
    assert all("+1555" not in event.data["reason"] for event in told)  # the number stays out of the timeline


def test_a_text_the_gateway_cannot_take_right_now_waits_for_another_attempt(twilio, app):
    twilio.answer_status = 503
    case = frozen_case(app)
    texts = deliver_texts(app)
    assert texts and {row.status for row in texts} == {"pending"}
    with sessions_of(app)() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "notification.failed",
                                                        AuditEvent.incident_id == case.incident_id)).first() is None
