"""A peer's freeze request: find the accounts of its deposits, open a case and hold withdrawals for each,
answer by signed status updates to the peer's callback."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import InvalidInput
from incidents import audit
from incidents.containment import OPENED_FREEZING, freeze_opened, request_freeze
from incidents.exchange.port import DepositAddress, ExchangePort
from incidents.handoff.models import PeerHold, PeerMessage, ReceivedFreezeRequest
from incidents.handoff.peers import Peer, check_callback
from incidents.handoff.states import HOLD_INITIAL, RECEIVED_ACKNOWLEDGED, RECEIVED_DECLINED
from incidents.intake import open_or_attach, sla_due
from incidents.models import ExchangeCommand
from incidents.outbox.states import INITIAL as MESSAGE_INITIAL

RECEIVER = "peer-desk"  # the actor of what the receiving side does by itself


def receive_peer_request(session: Session, *, peer: Peer, body: dict[str, Any], exchange: ExchangePort,
                         served_chains: set[str], sla_hours: int, now: datetime | None = None
                         ) -> tuple[dict[str, Any], bool, list[ExchangeCommand]]:
    """Record a peer's request and hold each recognised account (first answer, whether it is a repeat, the
    freeze commands to dispatch). Nothing is written when any check fails."""
    now = now or utcnow()
    first = _answer_given(session, peer.name, body["request_id"])
    if first is not None:
        return first, True, []
    if body["from_exchange"] != peer.name:
        raise InvalidInput("from_exchange", f"the request is signed by {peer.name}'s key")
    if body["chain"] not in served_chains:
        raise InvalidInput("chain", f"this exchange takes no deposits on {body['chain']}")
    session.rollback()  # the callback's host is looked up, and the exchange asked, with no transaction open
    check_callback(body["callback_url"], peer)
    found = {deposit["address"]: exchange.find_deposit_address(deposit["address"]) for deposit in body["deposits"]}
    try:
        return _record(session, peer, body, found, sla_hours, now)
    except IntegrityError:  # the same request, recorded meanwhile by a concurrent delivery: its answer
        session.rollback()
        first = _answer_given(session, peer.name, body["request_id"])
        if first is None:
            raise
        return first, True, []


def _answer_given(session: Session, peer: str, request_id: str) -> dict[str, Any] | None:
    """The first answer to this request id from this peer, if there was one."""
    return session.scalar(select(ReceivedFreezeRequest.answer).where(
        ReceivedFreezeRequest.from_exchange == peer, ReceivedFreezeRequest.request_id == request_id))


def _record(session: Session, peer: Peer, body: dict[str, Any], found: dict[str, DepositAddress | None],
            sla_hours: int, now: datetime) -> tuple[dict[str, Any], bool, list[ExchangeCommand]]:
    """The request, a case and a hold per account, the acknowledgement or refusal; one commit."""
    by_account: dict[str, list[str]] = defaultdict(list)
    declined = []
    for address, owner in found.items():
        if owner is None or owner.chain != body["chain"]:
            declined.append({"address": address, "reason": "no account of this exchange has this deposit address"
                             if owner is None else f"this address takes deposits on {owner.chain}"})
        else:
            by_account[owner.account_id].append(address)
    received = ReceivedFreezeRequest(
        id=uuid.uuid4(), request_id=body["request_id"], from_exchange=peer.name, case_reference=body["case_reference"],
        chain=body["chain"], deposits=body["deposits"], evidence_sha256=body["evidence_sha256"],
        callback_url=body["callback_url"], declined=declined, created_at=now,
        status=RECEIVED_ACKNOWLEDGED if by_account else RECEIVED_DECLINED)
    received.reference = f"PFR-{received.id.hex[:12].upper()}"
    received.answer = {"request_id": received.request_id, "status": "received", "reference": received.reference}
    session.add(received)
    session.flush()  # before the holds, which refer to it
    commands = [command for account_id, addresses in sorted(by_account.items())
                if (command := _hold(session, received, account_id, addresses, sla_hours, now)) is not None]
    reason = "; ".join(f"{item['address']}: {item['reason']}" for item in declined) or None
    queue_status(session, received, received.status, reason=reason, now=now)
    audit.record(session, actor=f"peer:{peer.name}", action="peer.freeze_request.received",
                 subject_type="received_freeze_request", subject_id=received.id, now=now,
                 data={"request_id": received.request_id, "case_reference": received.case_reference,
                       "evidence_sha256": received.evidence_sha256, "accounts": sorted(by_account),
                       "declined": declined})
    session.commit()
    return received.answer, False, commands


def _hold(session: Session, received: ReceivedFreezeRequest, account_id: str, addresses: list[str],
          sla_hours: int, now: datetime) -> ExchangeCommand | None:
    """A `peer_freeze_request` case on the account and the hold of its withdrawals, through the outbox."""
    opened = open_or_attach(session, account_id=account_id, now=now, new_incident={
        "kind": "peer_freeze_request", "source": "peer", "severity": "high", "sla_due_at": sla_due(now, sla_hours),
        "queue": "risk", "first_suspicious_at": now, "reported_loss": None, "created_at": now, "updated_at": now,
        **OPENED_FREEZING})
    incident = opened.incident
    reason = f"freeze request {received.reference} from {received.from_exchange} ({received.case_reference})"
    freeze_as = {"scope": "withdrawals", "reason": reason, "actor": RECEIVER, "now": now}
    command = request_freeze(session, incident, **freeze_as) if opened.attached \
        else freeze_opened(session, incident, **freeze_as)
    session.add(PeerHold(id=uuid.uuid4(), incident_id=incident.id, received_id=received.id, account_id=account_id,
                         addresses=addresses, status=HOLD_INITIAL))
    audit.record(session, actor=RECEIVER, action="peer.hold.requested", subject_type="incident",
                 subject_id=incident.id, incident_id=incident.id, now=now,
                 data={"from_exchange": received.from_exchange, "reference": received.reference,
                       "case_reference": received.case_reference, "evidence_sha256": received.evidence_sha256,
                       "addresses": addresses})
    return command


def queue_status(session: Session, received: ReceivedFreezeRequest, status: str, *, reason: str | None,
                 now: datetime) -> None:
    """A signed status update to the sender's callback, through the outbox."""
    body = {"request_id": received.request_id, "status": status, "reference": received.reference, "reason": reason}
    session.add(PeerMessage(id=uuid.uuid4(), peer=received.from_exchange, kind="status", url=received.callback_url,
                            body=body, status=MESSAGE_INITIAL, attempts=0, next_attempt_at=now, created_at=now))
