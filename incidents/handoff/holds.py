"""Holds made for peers: telling the peer once withdrawals are held, and staff releasing a hold."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from kernel.errors import Conflict, NotFound
from incidents import audit
from incidents.handoff.models import PeerHold, ReceivedFreezeRequest
from incidents.handoff.receiving import RECEIVER, queue_status
from incidents.handoff.states import transition_hold, transition_received
from incidents.models import ExchangeCommand, Incident
from incidents.states import transition
from incidents.outbox.commands import queue_command
from incidents.reasons import PEER_HOLD_RELEASED, with_own_words


def report_holds(session: Session, *, now: datetime | None = None) -> int:
    """Mark holds whose freeze the exchange confirmed; tell the peer `held` once all of a request's are; one commit."""
    now = now or utcnow()
    rows = session.execute(select(PeerHold, Incident.containment).join(Incident, Incident.id == PeerHold.incident_id)
                           .where(PeerHold.status == "holding")).all()
    touched: set[uuid.UUID] = set()
    for hold, containment in rows:
        if containment == "frozen":
            transition_hold(hold, "held", held_at=now)
            touched.add(hold.received_id)
    for received_id in touched:
        received = session.get(ReceivedFreezeRequest, received_id, with_for_update=True)
        holds = list(session.scalars(select(PeerHold).where(PeerHold.received_id == received_id)))
        if received.status == "acknowledged" and all(h.status == "held" for h in holds):
            transition_received(received, "held")
            queue_status(session, received, "held", now=now,
                         reason=f"withdrawals of {len(holds)} account(s) held")
            audit.record(session, actor=RECEIVER, action="peer.freeze_request.held",
                         subject_type="received_freeze_request", subject_id=received.id, now=now,
                         data={"accounts": [h.account_id for h in holds]})
    session.commit()
    return len(touched)


def hold_of(session: Session, *, incident_id: uuid.UUID) -> tuple[PeerHold, ReceivedFreezeRequest] | None:
    """The peer's hold on a case and the request behind it, if the case is one."""
    row = session.execute(select(PeerHold, ReceivedFreezeRequest)
                          .join(ReceivedFreezeRequest, ReceivedFreezeRequest.id == PeerHold.received_id)
                          .where(PeerHold.incident_id == incident_id)
                          .order_by(ReceivedFreezeRequest.created_at.desc()).limit(1)).first()
    return (row.PeerHold, row.ReceivedFreezeRequest) if row is not None else None


def release_hold(session: Session, *, incident_id: uuid.UUID, reason: str, actor: str,
                 now: datetime | None = None) -> ExchangeCommand:
    """Lift a peer's hold: the unfreeze goes through the outbox, the peer is told; audited; one commit."""
    now = now or utcnow()
    found = hold_of(session, incident_id=incident_id)
    if found is None:
        raise NotFound("this case holds nothing for a peer")
    hold, received = found
    incident = session.scalar(select(Incident).where(Incident.id == incident_id).with_for_update())
    if hold.status == "released" or incident.containment != "frozen":
        raise Conflict(f"the hold is {hold.status} and the account {incident.containment}",
                       containment=incident.containment)
    command = queue_command(session, incident, "unfreeze", {
        "reason": with_own_words(PEER_HOLD_RELEASED, reason), "reference": incident.reference,
        "withdrawal_cooldown_hours": 0}, now=now)
    transition(session, incident, machine="containment", to="unfreeze_pending", actor=actor,
               reason=with_own_words(PEER_HOLD_RELEASED, reason), now=now)
    transition_hold(hold, "released", released_at=now, released_by=actor, release_reason=reason)
    if received.status != "released":  # another of its holds was released first: the peer is told again
        transition_received(received, "released")
    queue_status(session, received, "released", reason=reason, now=now)
    audit.record(session, actor=actor, action="peer.hold.released", subject_type="incident", subject_id=incident.id,
                 incident_id=incident.id, now=now,
                 data={"reason": reason, "from_exchange": received.from_exchange, "reference": received.reference})
    session.commit()
    return command
