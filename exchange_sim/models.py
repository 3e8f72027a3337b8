"""The simulated exchange's own database: accounts, security events, withdrawals, deposit addresses and the
requests it deduplicates on. Only the simulator (its server, its `local` adapter, its CLI) touches them; their
tables are created by migrations 0002 and 0015."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, EncryptedText, utcnow
from incidents.models import BigIntKey


class BackofficeAccount(Base):
    """An account in the embedded exchange back office."""

    __tablename__ = "backoffice_accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    freeze_scope: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    anti_phishing_code: Mapped[str | None] = mapped_column(String(64))
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_bound_at: Mapped[datetime | None]
    phone_bound_at: Mapped[datetime | None]
    active_sessions: Mapped[int] = mapped_column(default=0)
    active_api_keys: Mapped[int] = mapped_column(default=0)
    freezes: Mapped[int] = mapped_column(default=0)
    withdrawals_held_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class BackofficeSecurityEvent(Base):
    """A security-relevant change the exchange recorded for an account."""

    __tablename__ = "backoffice_security_events"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("backoffice_accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]


class BackofficeWithdrawal(Base):
    """A withdrawal request at the exchange."""

    __tablename__ = "backoffice_withdrawals"
    __table_args__ = (Index("ix_backoffice_withdrawals_account_id_created_at", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("backoffice_accounts.id"))
    chain: Mapped[str] = mapped_column(String(40))
    asset: Mapped[str] = mapped_column(String(20))
    amount: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(128))
    tx_hash: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BackofficeRequest(Base):
    """A write the back office performed, by idempotency key: a repeated key gets this answer again."""

    __tablename__ = "backoffice_requests"

    idempotency_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    response: Mapped[dict[str, Any]]
    replays: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BackofficeDepositAddress(Base):
    """A deposit address the exchange gave one of its accounts (what a peer's freeze request names)."""

    __tablename__ = "backoffice_deposit_addresses"

    address: Mapped[str] = mapped_column(String(128), primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(ForeignKey("backoffice_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
