"""The table of idempotent answers: the first answer to a POST with an Idempotency-Key (app.idempotency uses it).

An HTTP concern, so it lives beside the web layer's idempotency rules; it imports only the database
kernel, so Alembic and the key rotation can load it without the application.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from kernel.transitions import move

# A key is claimed in flight by its first request and done once its answer is kept (a failed request's claim is
# deleted instead, so a corrected retry may run). A retry that took over a stale claim runs too: whichever of
# the two finishes first keeps its answer, and a kept answer is final (`idempotency.remember`).
RECORD_TRANSITIONS: dict[str, frozenset[str]] = {
    "in_flight": frozenset({"done"}),
    "done": frozenset(),
}
INITIAL = "in_flight"


class IdempotencyRecord(Base):
    """The first answer to a POST carrying an Idempotency-Key, kept at least 24 hours."""

    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default=INITIAL)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


def transition(record: IdempotencyRecord, to: str, **changes: Any) -> None:
    """Move an idempotency record (with the answer it keeps); the only assignment of its status."""
    move(record, RECORD_TRANSITIONS, to, subject="an idempotency record", **changes)
