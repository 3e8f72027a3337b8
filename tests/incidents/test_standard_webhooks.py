"""Outbound webhooks in the Standard Webhooks format, a secret per subscriber, verified with the ready-made library."""
from __future__ import annotations

import base64
import json
import threading
from http.server import ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from app import create_app
from tests.factories import seal_audit_events
from tests.incidents.review_support import frozen_case
from tests.incidents.webhook_peer import Subscriber

SECRETS = {"first": "whsec_" + base64.b64encode(b"first subscriber's key-0123456789").decode(),
           "second": "whsec_" + base64.b64encode(b"second subscriber's key-987654321").decode()}


@pytest.fixture
def subscribers():
    """Two receivers on sockets, each recording what it is sent."""
    running = {}
    for name in SECRETS:
        handler = type(f"Recorded{name}", (Subscriber,), {"received": [], "script": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running[name] = (handler, server, f"http://127.0.0.1:{server.server_port}/hooks/{name}")
    yield {name: (handler, url) for name, (handler, _server, url) in running.items()}
    for _handler, server, _url in running.values():
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings, subscribers):
    settings["OUTBOUND_WEBHOOK_URLS"] = json.dumps([{"url": subscribers[name][1], "secret": SECRETS[name]}
                                                    for name in SECRETS])
    return settings


def test_each_subscriber_verifies_its_events_with_its_own_secret(app, subscribers):
    frozen_case(app)
    seal_audit_events(app)
    app.extensions["lockdesk"].ports.review_jobs.deliver_webhooks()
    for name, (handler, _url) in subscribers.items():
        assert handler.received
        other = Webhook(SECRETS["second" if name == "first" else "first"])
        for headers, body in handler.received:
            event = Webhook(SECRETS[name]).verify(body, headers)
            assert event["type"] == headers["X-Lockdesk-Event"]
            with pytest.raises(WebhookVerificationError):
                other.verify(body, headers)


def test_the_signature_covers_the_message_id(app, subscribers):
    frozen_case(app)
    seal_audit_events(app)
    app.extensions["lockdesk"].ports.review_jobs.deliver_webhooks()
    headers, body = subscribers["first"][0].received[0]
    assert headers["webhook-id"] == headers["X-Lockdesk-Delivery"]
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRETS["first"]).verify(body, {**headers, "webhook-id": "another-id"})


def test_a_subscriber_without_a_secret_stops_the_start(settings, subscribers, monkeypatch, instance):
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    with pytest.raises(ValueError, match="without a secret"):
        create_app({**settings, "OUTBOUND_WEBHOOK_URLS": json.dumps([subscribers["first"][1]])})
