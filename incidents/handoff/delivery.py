"""Delivering the peer protocol's outbox through the leased outbox engine of incidents.outbound.

Each message is signed at send time (the peer checks its age). A request the peer answered 2xx is `sent`
with the peer's reference; one the peer refused for good, or that ran out of attempts, is `failed`.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from app.db import utcnow
from incidents import audit
from incidents.handoff.archive import Signer
from incidents.handoff.httpsig import sign_request
from incidents.handoff.models import PeerMessage, SentFreezeRequest
from incidents.handoff.peers import Peer, callback_address
from incidents.handoff.states import transition_sent
from incidents.outbound import WebhookUnreachable
from incidents.outbox.delivery import Attempt, claim_due_rows, record_attempts
from kernel.errors import DomainError

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class _Prepared:
    """A claimed message ready to send."""

    id: uuid.UUID
    token: str
    url: str
    body: bytes
    kind: str
    sent_request_id: uuid.UUID | None
    peer: str


def deliver_peer_messages(sessions: sessionmaker[Session], *, transport, signer: Signer, peers: dict[str, Peer],
                          clock: Callable[[], datetime] = utcnow, limit: int = 20) -> int:
    """Claim due messages, post them signed (no transaction open), record each outcome; the number tried.

    A status callback's URL is checked again against its peer (`peers`, the configured ones) just before it is
    sent: the host a peer named was checked when its request came, but a name can be made to resolve elsewhere
    later. It is then sent to the address that check resolved, not looked up again. A callback refused then,
    or whose peer is no longer configured, fails for good."""
    with sessions() as session:
        prepared = [_Prepared(row.id, row.claim_token, row.url,
                              json.dumps(row.body, separators=(",", ":"), ensure_ascii=False).encode(), row.kind,
                              row.sent_request_id, row.peer)
                    for row in claim_due_rows(session, PeerMessage, now=clock(), limit=limit)]
        session.commit()
    outcomes = [(item, *_guarded_post(transport, item, signer, clock(), peers)) for item in prepared]
    record_attempts(sessions, PeerMessage, [(item.id, item.token, attempt) for item, attempt, _ in outcomes],
                    now=clock())
    _settle_requests(sessions, [(item, answer) for item, _attempt, answer in outcomes if item.kind == "request"],
                     now=clock())
    return len(prepared)


def _guarded_post(transport, item: _Prepared, signer: Signer, now: datetime,
                  peers: dict[str, Peer]) -> tuple[Attempt, dict | None]:
    """Post one message; a status callback only once its URL has passed its peer's check again, and then over
    a connection to the very address that check judged (a second lookup could answer another)."""
    address = None
    if item.kind == "status":
        if item.peer not in peers:
            return Attempt(error=f"refused at sending: {item.peer} is no longer a configured peer",
                           is_retryable=False), None
        try:
            address = callback_address(item.url, peers[item.peer])
        except DomainError as exc:
            return Attempt(error=f"refused at sending: {exc.detail}", is_retryable=False), None
    return _post(transport, item, signer, now, address)


def _post(transport, item: _Prepared, signer: Signer, now: datetime,
          address: str | None) -> tuple[Attempt, dict | None]:
    """Sign and post one message (to `address` when given); the attempt and the peer's JSON answer when it
    took it. A redirect is not followed: its 3xx is the answer."""
    headers = sign_request("POST", item.url, item.body, signer=signer, created=now)
    try:
        status, raw = transport.post_for_answer(item.url, body=item.body, headers=headers, connect_to=address)
    except WebhookUnreachable as exc:
        return Attempt(error=f"unreachable: {exc.detail}", is_retryable=True), None
    if 200 <= status < 300:
        try:
            return Attempt(), json.loads(raw)
        except ValueError:
            return Attempt(), {}
    return Attempt(error=f"HTTP {status}: {raw[:300].decode('utf-8', 'replace')}",
                   is_retryable=status in RETRYABLE), None


def _settle_requests(sessions: sessionmaker[Session], answered: list[tuple[_Prepared, dict | None]], *,
                     now: datetime) -> None:
    """Move each sent request on from what its delivery became: sent with the peer's reference, or failed."""
    if not answered:
        return
    with sessions() as session:
        for item, answer in answered:
            message = session.get(PeerMessage, item.id)
            sent = session.get(SentFreezeRequest, item.sent_request_id, with_for_update=True)
            if sent is None or message is None:
                continue
            if message.status == "done" and sent.status == "queued":
                transition_sent(sent, "sent", updated_at=now)
                sent.reference = (answer or {}).get("reference") or sent.reference
                _audit(session, sent, "sent", {"reference": sent.reference}, now)
            elif message.status == "failed" and sent.status == "queued":
                transition_sent(sent, "failed", resolution=message.last_error, updated_at=now)
                _audit(session, sent, "failed", {"error": message.last_error}, now)
        session.commit()


def _audit(session: Session, sent: SentFreezeRequest, status: str, data: dict, now: datetime) -> None:
    """The request's move, on its case's timeline."""
    audit.record(session, actor="peer-outbox", action=f"peer.freeze_request.{status}",
                 subject_type="sent_freeze_request", subject_id=sent.id, incident_id=sent.incident_id, data=data,
                 now=now)
