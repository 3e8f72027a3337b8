"""Signed webhooks on state changes, delivered through the outbox (incidents.outbox.delivery)."""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from kernel.errors import DomainError
from incidents.models import AuditEvent, Incident, OutboundWebhook
from incidents.pinned_http import post_pinned
from incidents.outbox.delivery import Attempt, claim_due_rows, record_attempts
from incidents.outbox.states import INITIAL
from incidents.signatures import signature_header

WEBHOOK_PREFIXES = ("incident.status.", "incident.containment.")
WEBHOOK_ACTIONS = frozenset({"incident.opened", "incident.sla_breached", "unfreeze.requested", "unfreeze.approved",
                             "unfreeze.rejected", "unfreeze.executing", "unfreeze.completed", "unfreeze.failed",
                             "unfreeze.cancelled", "notice.repudiated"})
# (connect, read) seconds: a slow subscriber must not hold the worker for long.
WEBHOOK_TIMEOUT = (3.05, 10.0)


# --- signed webhooks ------------------------------------------------------------------------------------------


class WebhookUnreachable(DomainError):
    """The subscriber did not answer."""

    status, slug, title = 502, "webhook-unreachable", "Webhook subscriber unreachable"


class WebhookTransport(Protocol):
    """Posts a signed body to a subscriber and gives back the HTTP status."""

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """POST the body; raise WebhookUnreachable when there was no answer."""
        ...


class HttpWebhookTransport:
    """The `requests` adapter of the webhook port."""

    def __init__(self, session: requests.Session | None = None, timeout: tuple[float, float] = WEBHOOK_TIMEOUT):
        self._session = session or requests.Session()
        self._timeout = timeout

    def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """POST with timeouts; transport errors become WebhookUnreachable."""
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=self._timeout,
                                          allow_redirects=False)
        except requests.RequestException as exc:
            raise WebhookUnreachable(f"{type(exc).__name__}") from exc
        return response.status_code

    def post_for_answer(self, url: str, *, body: bytes, headers: dict[str, str],
                        connect_to: str | None = None) -> tuple[int, bytes]:
        """POST like `post`, and give back the answer's body as well (a peer's answer carries its reference).

        With `connect_to` (a vetted IP address) the connection goes to that address only, the URL's host name
        kept for the Host header and TLS (`incidents.pinned_http`)."""
        try:
            if connect_to is None:
                response = self._session.post(url, data=body, headers=headers, timeout=self._timeout,
                                              allow_redirects=False)
            else:
                response = post_pinned(self._session, url, connect_to, body=body, headers=headers,
                                       timeout=self._timeout)
        except requests.RequestException as exc:
            raise WebhookUnreachable(f"{type(exc).__name__}") from exc
        return response.status_code, response.content[:65536]


def wants_webhook(action: str) -> bool:
    """Whether subscribers hear of this audit action (incident state changes and the review's outcomes)."""
    return action in WEBHOOK_ACTIONS or action.startswith(WEBHOOK_PREFIXES)


def enqueue_webhooks(session: Session, event: AuditEvent, *, urls: list[str]) -> list[OutboundWebhook]:
    """One outbox row per subscriber for an audit event, in the caller's transaction."""
    if not urls or not wants_webhook(event.action):
        return []
    payload = {"id": f"evt_{uuid.uuid4().hex}", "type": event.action,
               "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
               "incident_id": str(event.incident_id) if event.incident_id else None,
               "subject": {"type": event.subject_type, "id": event.subject_id}, "data": event.data}
    rows = [OutboundWebhook(id=uuid.uuid4(), url=url, event_type=event.action, incident_id=event.incident_id,
                            payload=payload, status=INITIAL, attempts=0, next_attempt_at=event.occurred_at,
                            created_at=event.occurred_at) for url in urls]
    session.add_all(rows)
    return rows


@dataclass(frozen=True)
class PreparedWebhook:
    """A claimed webhook ready to send."""

    id: uuid.UUID
    token: str
    url: str
    event_type: str
    body: bytes


def deliver_webhooks(sessions: sessionmaker[Session], *, transport: WebhookTransport, secrets: Mapping[str, str],
                     clock: Callable[[], datetime] = utcnow, limit: int = 20) -> int:
    """Claim due webhooks, post them signed with their subscriber's secret (`secrets`: URL → secret, no
    transaction open), record each outcome; the number tried."""
    with sessions() as session:
        prepared = [_prepare(session, row) for row in claim_due_rows(session, OutboundWebhook, now=clock(),
                                                                      limit=limit)]
        session.commit()
    attempts = [(item.id, item.token, _post(transport, item, secrets.get(item.url), clock())) for item in prepared]
    record_attempts(sessions, OutboundWebhook, attempts, now=clock())
    return len(prepared)


def _prepare(session: Session, row: OutboundWebhook) -> PreparedWebhook:
    """The body to send: the event plus the incident's reference and account."""
    payload = dict(row.payload)
    incident = session.scalar(select(Incident).where(Incident.id == row.incident_id)) if row.incident_id else None
    if incident is not None:
        payload.update(reference=incident.reference, account_id=incident.account_id)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    return PreparedWebhook(id=row.id, token=row.claim_token, url=row.url, event_type=row.event_type, body=body)


def standard_webhook_headers(secret: str, *, message_id: str, now: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers: the signature covers the id, the timestamp and the body.

    A `whsec_…` secret is the spec's base64 key; any other secret is used as the raw key bytes
    (receivers then verify with `Webhook.from_raw`-style raw keys).
    """
    from standardwebhooks import Webhook

    hook = Webhook(secret) if secret.startswith("whsec_") else Webhook(secret.encode())
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": hook.sign(msg_id=message_id, timestamp=now, data=body.decode())}


def _post(transport: WebhookTransport, item: PreparedWebhook, secret: str | None, now: datetime) -> Attempt:
    """Sign at send time (receivers check the timestamp) and post; a subscriber no longer configured is dropped."""
    if not secret:
        return Attempt(error="the subscriber is no longer configured", is_retryable=False)
    # The id is the delivery's, the same on every retry, so a receiver can drop a repeat.
    headers = {"Content-Type": "application/json", "X-Lockdesk-Event": item.event_type,
               **standard_webhook_headers(secret, message_id=str(item.id), now=now, body=item.body),
               # The earlier signature scheme, kept while subscribers move to the standard headers.
               "X-Lockdesk-Delivery": str(item.id),
               "X-Lockdesk-Signature": signature_header(secret, int(now.timestamp()), item.body)}
    try:
        status = transport.post(item.url, body=item.body, headers=headers)
    except WebhookUnreachable as exc:
        return Attempt(error=f"unreachable: {exc.detail}", is_retryable=True)
    if 200 <= status < 300:
        return Attempt()
    # 410 Gone says the subscriber left for good; anything else may pass.
    return Attempt(error=f"HTTP {status}", is_retryable=status != 410)
