"""Tables of the unfreeze review: the request, its checklist, the officers' decisions, the one execution."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, new_id, utcnow

if TYPE_CHECKING:  # the relationships' targets, resolved by name at runtime (incidents.models imports this module)
    from incidents.models import ExchangeCommand, Incident


OPEN_REQUEST_STATUSES = ("pending", "approved", "executing")
_OPEN_REQUEST_SQL = "status IN ('pending', 'approved', 'executing')"


class UnfreezeRequest(Base):
    """The owner's request to lift the freeze, with its checklist and the officers' decisions."""

    __tablename__ = "unfreeze_requests"
    __table_args__ = (
        Index("uq_unfreeze_requests_open_incident", "incident_id", unique=True,
              sqlite_where=text(_OPEN_REQUEST_SQL), postgresql_where=text(_OPEN_REQUEST_SQL)),
        Index("ix_unfreeze_requests_status_executes_at", "status", "executes_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    # The passed verification the request rests on (another domain's table: no foreign key).
    verification_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    raised_by: Mapped[str] = mapped_column(String(100))
    approvals_required: Mapped[int] = mapped_column(default=1)
    executes_at: Mapped[datetime]
    withdrawal_cooldown_hours: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    incident: Mapped[Incident] = relationship()
    items: Mapped[list[UnfreezeChecklistItem]] = relationship(
        back_populates="request", order_by="UnfreezeChecklistItem.position", cascade="all, delete-orphan",
        lazy="selectin")
    decisions: Mapped[list[UnfreezeDecision]] = relationship(
        back_populates="request", order_by="UnfreezeDecision.decided_at", lazy="selectin")

    @property
    def checklist(self) -> list[UnfreezeChecklistItem]:
        """The checklist in its fixed order."""
        return self.items

    @property
    def approvals(self) -> int:
        """How many officers approved."""
        return sum(1 for decision in self.decisions if decision.decision == "approve")

    @property
    def is_open(self) -> bool:
        """Whether the request still awaits its outcome."""
        return self.status in OPEN_REQUEST_STATUSES


class UnfreezeChecklistItem(Base):
    """One item of an unfreeze checklist: done by the system's own evidence, or attested by staff."""

    __tablename__ = "unfreeze_checklist_items"
    __table_args__ = (UniqueConstraint("request_id", "item"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unfreeze_requests.id"), index=True)
    item: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    is_auto: Mapped[bool] = mapped_column(default=False)
    by: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    attested_by: Mapped[str | None] = mapped_column(String(100))
    attested_at: Mapped[datetime | None]

    request: Mapped[UnfreezeRequest] = relationship(back_populates="items")


class UnfreezeDecision(Base):
    """A risk officer's approval or rejection, made with a step-up code; one per officer and request."""

    __tablename__ = "unfreeze_decisions"
    __table_args__ = (UniqueConstraint("request_id", "officer_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unfreeze_requests.id"), index=True)
    officer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff.id"))
    decision: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[UnfreezeRequest] = relationship(back_populates="decisions")


class UnfreezeExecution(Base):
    """The one unfreeze command of a request: both keys unique, so no request unfreezes twice."""

    __tablename__ = "unfreeze_executions"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("unfreeze_requests.id"), primary_key=True)
    command_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("exchange_commands.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[UnfreezeRequest] = relationship()
    command: Mapped[ExchangeCommand] = relationship()
