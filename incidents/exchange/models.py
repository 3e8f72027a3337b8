"""What Lockdesk keeps of the exchange's answers (the simulated exchange's own tables are exchange_sim.models).

The incident-side tables keep what the follow-ups brought back: withdrawals to trace and the account
snapshot for factor trust.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, EncryptedText, new_id, utcnow


class IncidentWithdrawal(Base):
    """A withdrawal pulled from the exchange onto an incident; its hash is what gets traced."""

    __tablename__ = "incident_withdrawals"
    __table_args__ = (UniqueConstraint("incident_id", "exchange_withdrawal_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    exchange_withdrawal_id: Mapped[str] = mapped_column(String(64))
    chain: Mapped[str] = mapped_column(String(40))
    asset: Mapped[str] = mapped_column(String(20))
    amount: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(128))
    tx_hash: Mapped[str | None] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    pulled_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountSnapshotRecord(Base):
    """The account as the exchange described it at containment time (factor trust evidence)."""

    __tablename__ = "account_snapshots"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    anti_phishing_code: Mapped[str | None] = mapped_column(EncryptedText)
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_bound_at: Mapped[datetime | None]
    sms_bound_at: Mapped[datetime | None]
    security_events: Mapped[list[Any]] = mapped_column(default=list)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
