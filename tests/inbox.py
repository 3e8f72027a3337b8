"""A real SMTP server for the tests that read the mail Lockdesk sends (aiosmtpd on loopback), the SMS log, and the
links the messages carry. The `inbox` fixture reaches tests/incidents and tests/conversation through their conftests."""
from __future__ import annotations

import email
import json
import re
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from tests.factories import seal_audit_events
from tests.services import free_port

# The "this wasn't me" link and the case link, as the messages of `make run`'s base URL carry them.
LINK = re.compile(r"http://127\.0\.0\.1:5000(/repudiations/[0-9a-f]{32}\.[A-Za-z0-9_-]{43})")
CASE_LINK = re.compile(r"http://127\.0\.0\.1:5000/i/[0-9a-f-]{36}\?t=ldi_[A-Za-z0-9_-]{43}", re.IGNORECASE)


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[str] = []
        self.refusal: str | None = None  # what the server answers to every message instead of accepting it

    async def handle_DATA(self, _server, _session, envelope):
        if self.refusal:
            return self.refusal
        self.recipients += envelope.rcpt_tos
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted"


@pytest.fixture
def inbox():
    """A real SMTP server on loopback: (its handler, holding what it was given; its port)."""
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def deliver(app) -> int:
    """Seal the audit events (which writes their notifications), then send what is due; how many were tried."""
    seal_audit_events(app)
    return app.extensions["lockdesk"].ports.review_jobs.deliver_notifications()


def sms_lines(app) -> list[dict]:
    """The text messages the SMS log gateway wrote so far."""
    with open(app.config["SMS_LOG_PATH"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]
