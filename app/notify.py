"""Wiring of the review's outside world: notification ports, webhook subscribers, the outbox writer, periodic jobs.

`init_app` puts the notification ports (over the mailer and the SMS gateway app/adapters.py chose), the
webhook transport and the review's periodic jobs in `runtime().ports`, hooks the outbox writer to the
sealing of the audit chain (every audit event gets its notifications and webhooks once, in the transaction
that seals it) and registers the repudiation page.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from flask import Flask
from prometheus_client import Counter
from sqlalchemy.orm import Session, sessionmaker

from app.config import setting
from app.db import utcnow
from incidents import audit, notifications, outbound, review, sla
from incidents.approvals import Thresholds
from incidents.models import AuditEvent
from incidents.repudiation import link_token

log = logging.getLogger("lockdesk.notify")

SLA_SWEEP_EVERY = timedelta(seconds=30)
SLA_BREACHES = Counter("lockdesk_sla_breaches_total", "Incidents escalated for passing their SLA deadline")
UNFREEZES_QUEUED = Counter("lockdesk_unfreezes_queued_total", "Unfreeze commands queued by the review")


def review_policy(config) -> review.ReviewPolicy:
    """The review's numbers from the settings."""
    return review.ReviewPolicy(
        thresholds=Thresholds(high_risk_score=int(config.get("HIGH_RISK_SCORE", 80)),
                              high_loss_amount=Decimal(str(config.get("HIGH_LOSS_AMOUNT", "10000")))),
        min_wait=timedelta(minutes=int(config.get("UNFREEZE_MIN_WAIT_MINUTES", 120))),
        cooldown_hours=int(config.get("WITHDRAWAL_COOLDOWN_HOURS", 24)),
        trust_days=int(config.get("FACTOR_TRUST_DAYS", 7)))


def notice_policy(config) -> notifications.NoticePolicy:
    """Where the risk queue's mail goes and how long links live."""
    return notifications.NoticePolicy(
        risk_queue_email=setting(config, "RISK_QUEUE_EMAIL", "") or None,
        repudiation_ttl=timedelta(days=setting(config, "REPUDIATION_LINK_DAYS", 7)))


def webhook_subscribers(config) -> dict[str, str]:
    """OUTBOUND_WEBHOOK_URLS → {url: secret}: a JSON list of URLs (signed with OUTBOUND_WEBHOOK_SECRET) and/or
    of {"url", "secret"} objects, each subscriber with a secret of its own."""
    value = config.get("OUTBOUND_WEBHOOK_URLS")
    if value is None:
        value = setting(config, "OUTBOUND_WEBHOOK_URLS", "")
    entries = json.loads(value) if isinstance(value, str) and value.strip() else value or []
    shared = config.get("OUTBOUND_WEBHOOK_SECRET") or ""
    if not isinstance(entries, list):
        raise ValueError("OUTBOUND_WEBHOOK_URLS must be a JSON list")
    subscribers: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str) and isinstance(entry.get("secret"), str):
            subscribers[entry["url"]] = entry["secret"]
        elif isinstance(entry, str):
            if not shared:
                raise ValueError("OUTBOUND_WEBHOOK_URLS names a URL without a secret: give it one "
                                 '({"url", "secret"}) or set OUTBOUND_WEBHOOK_SECRET')
            subscribers[entry] = shared
        else:
            raise ValueError('OUTBOUND_WEBHOOK_URLS entries are URLs or {"url": …, "secret": …} objects')
    return subscribers


def webhook_urls(config) -> list[str]:
    """The subscribers' URLs."""
    return list(webhook_subscribers(config))


class OutboxWriter:
    """As audit events are sealed: the notifications and webhooks each calls for, in the sealing transaction."""

    def __init__(self, policy: notifications.NoticePolicy, urls: list[str]):
        self.policy, self.urls = policy, urls

    def __call__(self, session: Session, sealed: Sequence[AuditEvent]) -> None:
        """Write outbox rows for a batch of newly sealed events (rows with the event's columns), in chain order."""
        notifications.enqueue_for_events(session, sealed, policy=self.policy)
        outbound.enqueue_webhooks(session, sealed, urls=self.urls)


class ReviewJobs:
    """One worker tick of the review: SLA sweep, due unfreezes, settled unfreezes, notifications, webhooks."""

    def __init__(self, app: Flask):
        runtime = app.extensions["lockdesk"]
        self.sessions: sessionmaker[Session] = runtime.sessions
        self.ports = runtime.ports
        self.config = app.config
        self.policy = runtime.ports.review_policy
        self.subscribers = webhook_subscribers(app.config)
        self._last_sla_sweep: datetime | None = None

    def clock(self) -> datetime:
        """The injectable clock (LOCKDESK_CLOCK, a callable), else the server's."""
        clock: Callable[[], datetime] | None = self.config.get("LOCKDESK_CLOCK")
        return clock() if clock else utcnow()

    def __call__(self) -> int:
        """Run each job once; failures are logged and the others still run. The amount of work done."""
        done = 0
        for job in (self.sweep_sla, self.execute_unfreezes, self.settle_unfreezes, self.deliver_notifications,
                    self.deliver_webhooks):
            try:
                done += job()
            except Exception:
                log.exception("review job %s failed", job.__name__)
        return done

    def sweep_sla(self) -> int:
        """Escalate breached SLAs; deadlines are hours apart, so a sweep every SLA_SWEEP_EVERY is plenty."""
        now = self.clock()
        if self._last_sla_sweep is not None and now - self._last_sla_sweep < SLA_SWEEP_EVERY:
            return 0
        self._last_sla_sweep = now
        with self.sessions() as session:
            escalated = len(sla.sweep_sla(session, now=now).escalated)
        SLA_BREACHES.inc(escalated)
        return escalated

    def execute_unfreezes(self) -> int:
        """Queue approved unfreezes whose wait is over, and wake the dispatcher for them."""
        with self.sessions() as session:
            queued = review.execute_due_unfreezes(session, policy=self.policy, now=self.clock())
        if queued:
            UNFREEZES_QUEUED.inc(len(queued))
            dispatcher = self.ports.dispatcher
            if dispatcher is not None:
                dispatcher.wake()
        return len(queued)

    def settle_unfreezes(self) -> int:
        """Close requests whose unfreeze the exchange answered."""
        with self.sessions() as session:
            return review.settle_unfreezes(session, now=self.clock())

    def deliver_notifications(self) -> int:
        """Send due notifications."""
        return notifications.deliver_notifications(self.sessions, ports=self.ports.notification_ports,
                                                   clock=self.clock)

    def deliver_webhooks(self) -> int:
        """Post due webhooks (nothing to look for when no system subscribed)."""
        if not self.subscribers:
            return 0
        return outbound.deliver_webhooks(self.sessions, transport=self.ports.webhook_transport,
                                         secrets=self.subscribers, clock=self.clock)


def link_builder(config) -> Callable:
    """Writes the absolute "this wasn't me" link of a repudiation."""
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    key = config["SECRET_KEY"]
    return lambda repudiation_id: f"{base}/repudiations/{link_token(repudiation_id, key=key)}"


def case_link_builder(config) -> Callable:
    """Writes the absolute private link to an owner's case page for an access token."""
    base = config["PUBLIC_BASE_URL"].rstrip("/")
    return lambda incident_id, token: f"{base}/i/{incident_id}?t={token}"


def init_app(app: Flask) -> None:
    """Build the ports, hook the outbox writer, register the periodic jobs and the repudiation page."""
    from app.web import repudiation as repudiation_page

    runtime = app.extensions["lockdesk"]
    # Built once; a setting the review cannot honour stops the start, not a later unfreeze.
    runtime.ports.review_policy = review_policy(app.config)
    urls = webhook_urls(app.config)  # a subscriber without a secret stops the start
    runtime.ports.notification_ports = notifications.Ports(
        mailer=runtime.ports.mailer, sms=runtime.ports.sms, link_for=link_builder(app.config),
        case_link_for=case_link_builder(app.config))
    if runtime.ports.webhook_transport is None:
        runtime.ports.webhook_transport = outbound.HttpWebhookTransport()
    info = runtime.sessions.kw.get("info") or {}
    runtime.sessions.configure(info={**info, audit.ON_SEALED: [*info.get(audit.ON_SEALED, ()),
                                                               OutboxWriter(notice_policy(app.config), urls)]})
    runtime.ports.review_jobs = ReviewJobs(app)
    app.register_blueprint(repudiation_page.bp)
