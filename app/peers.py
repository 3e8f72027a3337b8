"""The application's side of the peer protocol: settings read once, the worker's job, the services' ports."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from flask import Flask, current_app

from app.db import utcnow
from app.evidence import instance_signer, render_case_pdf
from app.extensions import get_session, runtime
from incidents.handoff import delivery, holds
from incidents.handoff.bundle import write_bundle
from incidents.handoff.peers import Peer, load_peers
from incidents.outbound import HttpWebhookTransport

log = logging.getLogger("lockdesk.peers")
CALLBACK_PATH = "/api/v1/peer/freeze-requests/{request_id}/status"


def peers() -> dict[str, Peer]:
    """The configured peers (read at start)."""
    return runtime().ports.peers


def callback_url() -> str:
    """Where peers post their status updates: PUBLIC_BASE_URL, the address at which they reach us."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/api/v1/peer/freeze-requests/{request_id}/status"


def evidence_writer(actor: str) -> Callable[[uuid.UUID], str]:
    """Writes a case's bundle (English) in the caller's transaction and gives its SHA-256."""
    def write(incident_id: uuid.UUID) -> str:
        return write_bundle(get_session(), incident_id=incident_id, language="en", signer=instance_signer(),
                            store=runtime().ports.blob_store, render_pdf=render_case_pdf, actor=actor,
                            commit=False).sha256
    return write


def wake_dispatcher() -> None:
    """Send queued freezes now rather than at the worker's next tick."""
    dispatcher = runtime().ports.dispatcher
    if dispatcher is not None:
        dispatcher.wake()


class PeerJobs:
    """One worker tick: deliver the peer outbox, tell peers of holds the exchange confirmed."""

    def __init__(self, app: Flask):
        self.app = app
        self.sessions = app.extensions["lockdesk"].sessions
        ports = app.extensions["lockdesk"].ports
        if ports.peer_transport is None:
            ports.peer_transport = HttpWebhookTransport()
        self.transport = ports.peer_transport

    def clock(self) -> datetime:
        """The injectable clock (LOCKDESK_CLOCK), else the server's."""
        clock = self.app.config.get("LOCKDESK_CLOCK")
        return clock() if clock else utcnow()

    def __call__(self) -> int:
        """Run both jobs; the amount of work done."""
        done = 0
        with self.app.app_context():
            signer = instance_signer()
        with self.sessions() as session:
            done += holds.report_holds(session, now=self.clock())
        done += delivery.deliver_peer_messages(self.sessions, transport=self.transport, signer=signer,
                                               peers=self.app.extensions["lockdesk"].ports.peers, clock=self.clock)
        return done


def init_app(app: Flask) -> None:
    """Read PEER_EXCHANGES (a bad entry stops the start, naming it) and register the worker's job."""
    ports = app.extensions["lockdesk"].ports
    ports.peers = load_peers(app.config.get("PEER_EXCHANGES"))
    ports.peer_jobs = PeerJobs(app)
