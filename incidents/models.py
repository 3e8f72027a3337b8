"""Tables of the case: incidents, their intake, the exchange outbox, access tokens, staff, audit."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_id, utcnow

OPEN_STATUSES = ("open", "in_progress", "awaiting_user")
OPEN_INCIDENT_SQL = "status IN ('open', 'in_progress', 'awaiting_user')"

# SQLite only autoincrements an INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for the long run.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")


class Staff(Base):
    """A support agent, risk officer or admin."""

    __tablename__ = "staff"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Console sessions opened before this moment are over (signing out ends them on every device).
    sessions_valid_after: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Incident(Base):
    """The ticket for one account's security case; at most one open per account."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("uq_incidents_open_account", "account_id", unique=True,
              sqlite_where=text(OPEN_INCIDENT_SQL), postgresql_where=text(OPEN_INCIDENT_SQL)),
        Index("ix_incidents_sla_due_at_number", "sla_due_at", "number"),
        Index("ix_incidents_status_sla_due_at_number", "status", "sla_due_at", "number"),
        Index("ix_incidents_created_at_number", "created_at", "number"),
    )

    number: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    risk_score: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(20), default="open")
    containment: Mapped[str] = mapped_column(String(20), default="none", index=True)
    queue: Mapped[str] = mapped_column(String(20), default="support")
    sla_due_at: Mapped[datetime]
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    first_suspicious_at: Mapped[datetime | None]
    frozen_at: Mapped[datetime | None]
    reported_loss: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    # How the case ended (incidents.states.OUTCOMES); None while it is open or when staff closed it.
    outcome: Mapped[str | None] = mapped_column(String(40))
    # While the case waits for the owner (awaiting_user): since when, and how many reminders went out.
    awaiting_since: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)

    reports: Mapped[list[Report]] = relationship(back_populates="incident", order_by="Report.created_at")
    anomalies: Mapped[list[AnomalyEvent]] = relationship(back_populates="incident",
                                                         order_by="AnomalyEvent.received_at")
    commands: Mapped[list[ExchangeCommand]] = relationship(back_populates="incident",
                                                           order_by="ExchangeCommand.created_at")

    @property
    def reference(self) -> str:
        """Human reference such as INC-2026-000123."""
        return format_reference(self.created_at.year, self.number)

    @property
    def is_open(self) -> bool:
        """Whether new reports and anomalies still attach to this incident."""
        return self.status in OPEN_STATUSES


def format_reference(year: int, number: int) -> str:
    """Format the human reference of an incident."""
    return f"INC-{year}-{number:06d}"


class Report(Base):
    """One account owner's report, as received."""

    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str] = mapped_column(String(10), default="en")
    last_legitimate_activity_at: Mapped[datetime | None]
    transactions: Mapped[list[Any]] = mapped_column(default=list)
    reported_loss: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="reports")


class AnomalyEvent(Base):
    """A risk-engine event, remembered by its event id."""

    __tablename__ = "anomaly_events"
    __table_args__ = (Index("ix_anomaly_events_account_id_occurred_at", "account_id", "occurred_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    account_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    weight: Mapped[int] = mapped_column(default=0)
    score: Mapped[int] = mapped_column(default=0)
    action: Mapped[str] = mapped_column(String(20))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    incident: Mapped[Incident | None] = relationship(back_populates="anomalies")


class ExchangeCommand(Base):
    """Outbox row: an action the exchange must perform exactly once (idempotency key = id)."""

    __tablename__ = "exchange_commands"
    __table_args__ = (Index("ix_exchange_commands_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    # The lease of the worker holding the command; only the holder of the token may record its outcome.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]

    incident: Mapped[Incident | None] = relationship(back_populates="commands")

    @property
    def idempotency_key(self) -> str:
        """The key the exchange deduplicates on: the same on every attempt."""
        return str(self.id)


class AccessToken(Base):
    """A reporter's incident access token (stored as a hash, shown once)."""

    __tablename__ = "access_tokens"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    # Declared so the unit of work inserts the incident and report before their tokens.
    incident: Mapped[Incident] = relationship()
    report: Mapped[Report | None] = relationship()


class AuditEvent(Base):
    """Append-only, hash-chained record of every state change and staff action."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_unsealed", "id", sqlite_where=text("seq IS NULL"),
                            postgresql_where=text("seq IS NULL")),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set once, by the sealer, when the event is linked into the chain.
    seq: Mapped[int | None] = mapped_column(BigIntKey, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


# --- SLA escalations, notifications, outbound webhooks, repudiations (the review's tables: review_models) ---

class SlaEscalation(Base):
    """An incident whose SLA deadline passed, escalated once to the risk queue."""

    __tablename__ = "sla_escalations"

    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    sla_due_at: Mapped[datetime]
    escalated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryColumns:
    """Outbox columns shared by notifications and outbound webhooks: status, retries and the worker's lease."""

    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class Notification(DeliveryColumns, Base):
    """A message to the owner (registered channels) or the risk queue, written with the change it tells of."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    # Written in the same flush as the incident that may be new: no foreign key to order inserts by.
    incident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    audience: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    notice: Mapped[str] = mapped_column(String(40))
    repudiation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Set only for fixed staff addresses; an owner's address is read from the exchange at delivery.
    recipient: Mapped[str | None] = mapped_column(String(254))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboundWebhook(DeliveryColumns, Base):
    """A signed event for one subscriber of the exchange's other systems."""

    __tablename__ = "outbound_webhooks"
    __table_args__ = (Index("ix_outbound_webhooks_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(80))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Repudiation(Base):
    """A one-time "this wasn't me" link sent with a notification; using it refreezes and files a report."""

    __tablename__ = "repudiations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    notice: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_from: Mapped[str | None] = mapped_column(String(64))


# The review's tables live in a module of their own; importing them here keeps one place that loads every
# table of the case (Alembic, the mappers' relationships) and the names importable from here.
from incidents.review_models import (  # noqa: E402,F401
    OPEN_REQUEST_STATUSES,
    UnfreezeChecklistItem,
    UnfreezeDecision,
    UnfreezeExecution,
    UnfreezeRequest,
)
