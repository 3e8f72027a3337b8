"""Tables of freeze requests between exchanges: those we sent, those we received, and their outbox."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow
from incidents.models import DeliveryColumns

SENT_STATUSES = ("queued", "sent", "acknowledged", "held", "declined", "failed")
RECEIVED_STATUSES = ("received", "acknowledged", "held", "declined", "released")


class SentFreezeRequest(Base):
    """A freeze request this exchange sent a peer, from a trace whose funds reached the peer's addresses."""

    __tablename__ = "sent_freeze_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    trace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("traces.id"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    exchange: Mapped[str] = mapped_column(String(100))
    chain: Mapped[str] = mapped_column(String(32))
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    deposits: Mapped[list[Any]] = mapped_column(default=list)
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    reference: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_due_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]


class ReceivedFreezeRequest(Base):
    """A peer's freeze request: kept whole, with the first answer given (a repeated request_id gets it again)."""

    __tablename__ = "received_freeze_requests"
    __table_args__ = (UniqueConstraint("from_exchange", "request_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(String(100))
    from_exchange: Mapped[str] = mapped_column(String(100))
    case_reference: Mapped[str] = mapped_column(String(100))
    chain: Mapped[str] = mapped_column(String(32))
    deposits: Mapped[list[Any]] = mapped_column(default=list)
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    callback_url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="received")
    reference: Mapped[str] = mapped_column(String(100))
    declined: Mapped[list[Any]] = mapped_column(default=list)
    answer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerHold(Base):
    """One account held on a peer's request: its incident, the deposits that led to it, and its release."""

    __tablename__ = "peer_holds"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    received_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("received_freeze_requests.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    addresses: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="holding")
    held_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(100))
    release_reason: Mapped[str | None] = mapped_column(Text)


class PeerMessage(DeliveryColumns, Base):
    """The outbox of the peer protocol: a request or a status update, signed when it is sent."""

    __tablename__ = "peer_messages"
    __table_args__ = (Index("ix_peer_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    peer: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # "request" or "status"
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sent_request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sent_freeze_requests.id"), index=True)
