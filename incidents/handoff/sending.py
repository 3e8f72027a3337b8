"""Asking a peer exchange to hold stolen deposits, and hearing back from it."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict, InvalidInput, NotFound
from chain import service as chain_service
from incidents import audit
from incidents.handoff.models import PeerMessage, SentFreezeRequest
from incidents.handoff.peers import Peer
from incidents.handoff.states import AWAITING_ANSWER, SENT_INITIAL, is_news, transition_sent
from incidents.outbox.states import INITIAL as MESSAGE_INITIAL

REQUEST_PATH = "/api/v1/peer/freeze-requests"
# Writes the case's evidence bundle in the caller's transaction and gives its SHA-256.
EvidenceWriter = Callable[[uuid.UUID], str]


def request_peer_freeze(session: Session, *, trace_id: uuid.UUID, exchange: str, addresses: list[str] | None,
                        peers: dict[str, Peer], own_name: str, callback_url: str, ack_hours: float,
                        write_evidence: EvidenceWriter, actor: str, now: datetime | None = None) -> SentFreezeRequest:
    """Queue a signed freeze request to a peer with the deposits the trace reached and the evidence's hash."""
    now = now or utcnow()
    trace = chain_service.get_trace(session, trace_id=trace_id)
    if exchange not in peers:
        raise InvalidInput("exchange", f"{exchange!r} is not a configured peer exchange")
    if trace.status != "done":
        raise Conflict(f"the trace is {trace.status}; a request needs a finished trace")
    if trace.incident_id is None:
        raise Conflict("the trace belongs to no case, and the evidence is a case's")
    reached = reached_addresses(trace.findings or [], exchange)
    chosen = [a.lower() if a.lower().startswith("0x") else a for a in addresses] if addresses else sorted(reached)
    missing = [address for address in chosen if address not in reached]
    if not chosen or missing:
        raise InvalidInput("addresses", f"the trace reached no address of {exchange} named {missing or chosen}")
    deposits = [deposit for edge in (trace.graph or {}).get("edges") or [] if edge["to"].lower() in chosen
                for deposit in [_deposit(edge)]]
    incident_id, chain, reference = trace.incident_id, trace.chain, _reference(session, trace.incident_id)
    evidence = write_evidence(incident_id)
    sent = SentFreezeRequest(id=uuid.uuid4(), trace_id=trace_id, incident_id=incident_id, exchange=exchange,
                             chain=chain, addresses=chosen, deposits=deposits, evidence_sha256=evidence,
                             status=SENT_INITIAL, requested_by=actor, created_at=now, updated_at=now,
                             ack_due_at=now + timedelta(hours=ack_hours))
    session.add(sent)
    session.flush()  # before its outbox row, which refers to it
    body = {"request_id": str(sent.id), "from_exchange": own_name, "case_reference": reference, "chain": chain,
            "deposits": deposits, "evidence_sha256": evidence,
            "callback_url": callback_url.format(request_id=sent.id)}
    session.add(PeerMessage(id=uuid.uuid4(), peer=exchange, kind="request", url=peers[exchange].endpoint(
        REQUEST_PATH), body=body, sent_request_id=sent.id, status=MESSAGE_INITIAL, attempts=0, next_attempt_at=now,
        created_at=now))
    audit.record(session, actor=actor, action="peer.freeze_request.queued", subject_type="sent_freeze_request",
                 subject_id=sent.id, incident_id=incident_id, now=now,
                 data={"exchange": exchange, "addresses": chosen, "evidence_sha256": evidence})
    session.commit()
    return sent


def reached_addresses(findings: list[dict[str, Any]], exchange: str) -> set[str]:
    """The addresses of `exchange` (by the labels' entity or name, any letter case) the trace reached."""
    wanted = exchange.casefold()
    return {f["address"].lower() if f["address"].lower().startswith("0x") else f["address"] for f in findings
            if f["category"] == "exchange" and wanted in {(f.get("entity") or "").casefold(), f["label"].casefold()}}


def _deposit(edge: dict[str, Any]) -> dict[str, Any]:
    """A deposit as the request names it."""
    return {"address": edge["to"], "tx_hash": edge["tx_hash"], "asset": edge["asset"], "amount": edge["amount"]}


def _reference(session: Session, incident_id: uuid.UUID) -> str:
    """The case's human reference."""
    from incidents.queue import get_incident

    return get_incident(session, incident_id=incident_id).reference


def get_sent_request(session: Session, *, request_id: uuid.UUID) -> SentFreezeRequest:
    """One request this exchange sent; 404 if none."""
    found = session.get(SentFreezeRequest, request_id)
    if found is None:
        raise NotFound(f"no freeze request {request_id}")
    return found


def sent_requests_of(session: Session, *, incident_id: uuid.UUID) -> list[SentFreezeRequest]:
    """The requests sent for a case, oldest first."""
    return list(session.scalars(select(SentFreezeRequest).where(SentFreezeRequest.incident_id == incident_id)
                                .order_by(SentFreezeRequest.created_at)))


def list_sent_requests(session: Session, *, late_at: datetime | None = None, limit: int = 50
                       ) -> list[SentFreezeRequest]:
    """The queue of requests sent, soonest acknowledgement due first (only the late ones when `late_at` is given)."""
    query = select(SentFreezeRequest).order_by(SentFreezeRequest.ack_due_at).limit(limit)
    if late_at is not None:
        query = query.where(SentFreezeRequest.acknowledged_at.is_(None), SentFreezeRequest.ack_due_at < late_at,
                            SentFreezeRequest.status.in_(AWAITING_ANSWER))
    return list(session.scalars(query))


def is_late(request: SentFreezeRequest, now: datetime) -> bool:
    """Not acknowledged (nor answered otherwise) by its due time."""
    return request.acknowledged_at is None and request.status in AWAITING_ANSWER and now > request.ack_due_at


def apply_peer_status(session: Session, *, peer: str, body: dict[str, Any], now: datetime | None = None
                      ) -> SentFreezeRequest:
    """A peer's signed status update moves our request forward (never back); audited; one commit."""
    now = now or utcnow()
    try:
        request_id = uuid.UUID(body["request_id"])
    except ValueError as error:
        raise NotFound("no freeze request with that id") from error
    sent = session.get(SentFreezeRequest, request_id, with_for_update=True)
    if sent is None or sent.exchange != peer:
        raise NotFound("no freeze request with that id was sent to this peer")
    status = body["status"]
    if is_news(sent, status):
        transition_sent(sent, status, updated_at=now)
        sent.reference = body.get("reference") or sent.reference
        sent.resolution = body.get("reason") or sent.resolution
        if sent.acknowledged_at is None:  # any answer acknowledges the request
            sent.acknowledged_at = now
        audit.record(session, actor=f"peer:{peer}", action=f"peer.freeze_request.{status}",
                     subject_type="sent_freeze_request", subject_id=sent.id, incident_id=sent.incident_id,
                     data={"reference": sent.reference, "reason": body.get("reason")}, now=now)
    session.commit()
    return sent
