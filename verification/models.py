"""Tables of the owner's proof: verifications, their factor checks, SMS codes, authenticator state."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, EncryptedText, new_id, utcnow
from verification.totp import OtpState

VERIFICATION_STATUSES = ("pending", "passed", "failed", "expired", "manual_review")
FACTOR_STATUSES = ("pending", "passed", "failed", "locked")


class OtpFactor(Base):
    """One authenticator's replay and lockout memory, shared by every verification that uses it."""

    __tablename__ = "otp_factors"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_id"),
                      CheckConstraint("owner_kind IN ('account', 'staff')", name="owner_kind"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    owner_kind: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[str] = mapped_column(String(64))
    # Staff secrets live here, encrypted; account secrets stay at the exchange and are passed in.
    secret: Mapped[str | None] = mapped_column(EncryptedText)
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    total_failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def state(self) -> OtpState:
        """The row as the pure TOTP rules see it."""
        return OtpState(last_step=self.last_step, failed_attempts=self.failed_attempts or 0,
                        total_failures=self.total_failures or 0, locked_until=self.locked_until,
                        disabled=self.disabled_at is not None)

    def store(self, state: OtpState, *, now: datetime) -> None:
        """Write back what the rules decided."""
        self.last_step = state.last_step
        self.failed_attempts = state.failed_attempts
        self.total_failures = state.total_failures
        self.locked_until = state.locked_until
        if not state.disabled:
            self.disabled_at = None
        elif self.disabled_at is None:
            self.disabled_at = now
        self.updated_at = now


class TotpThrottle(Base):
    """One token's run of wrong codes against one account's authenticator: the short lock stops that guesser only."""

    __tablename__ = "totp_throttles"
    __table_args__ = (UniqueConstraint("account_id", "actor"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def state(self) -> OtpState:
        """The guesser's part of the TOTP rules' state."""
        return OtpState(failed_attempts=self.failed_attempts or 0, locked_until=self.locked_until)


class Verification(Base):
    """One attempt to prove an incident's account owner."""

    __tablename__ = "verifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'passed', 'failed', 'expired', 'manual_review')",
                        name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    manual_review_required: Mapped[bool] = mapped_column(default=False)
    # Where and how to send SMS codes: personal data, so encrypted at rest.
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    anti_phishing_code: Mapped[str | None] = mapped_column(EncryptedText)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Who started it (an access token's audit name): the proof is that holder's, not every reporter's.
    started_by: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    passed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_decision: Mapped[str | None] = mapped_column(String(10))
    review_evidence: Mapped[str | None] = mapped_column(Text)

    factors: Mapped[list[FactorCheck]] = relationship(
        back_populates="verification", order_by="FactorCheck.position", cascade="all, delete-orphan",
        lazy="selectin")

    def factor(self, kind: str) -> FactorCheck | None:
        """The check of one factor kind, if the verification has it."""
        return next((check for check in self.factors if check.kind == kind), None)


class FactorCheck(Base):
    """How one factor fared within a verification."""

    __tablename__ = "factor_checks"
    __table_args__ = (
        UniqueConstraint("verification_id", "kind"),
        CheckConstraint("kind IN ('totp', 'sms')", name="kind"),
        CheckConstraint("status IN ('pending', 'passed', 'failed', 'locked')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    verification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("verifications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    trusted: Mapped[bool] = mapped_column(default=False)
    trust_reason: Mapped[str | None] = mapped_column(String(40))
    destination: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(default=0)
    passed_at: Mapped[datetime | None]

    verification: Mapped[Verification] = relationship(back_populates="factors")


class SmsCode(Base):
    """One SMS code, kept only as an HMAC bound to its verification."""

    __tablename__ = "sms_codes"
    __table_args__ = (Index("ix_sms_codes_account_id_created_at", "account_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    verification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("verifications.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
    burned_at: Mapped[datetime | None]
    # The token that asked for it (its audit name): only that token may enter it.
    requested_by: Mapped[str | None] = mapped_column(String(100))
