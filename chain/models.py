"""Tables of the money trail: traces, the chain-data cache and address labels."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow

TRACE_STATUSES = ("queued", "running", "done", "failed")


class Trace(Base):
    """One request to follow a transaction's money, and what was found."""

    __tablename__ = "traces"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        CheckConstraint("depth BETWEEN 0 AND 5", name="depth"),
        Index("ix_traces_incident_id", "incident_id"),
        Index("ix_traces_chain_tx_hash", "chain", "tx_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("incidents.id"))
    chain: Mapped[str] = mapped_column(String(32))
    tx_hash: Mapped[str] = mapped_column(String(80))
    depth: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    transaction: Mapped[dict[str, Any] | None]
    graph: Mapped[dict[str, Any] | None]
    findings: Mapped[list[Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    round_trips: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ChainCache(Base):
    """Immutable chain data (confirmed transactions, finalized address history) by key."""

    __tablename__ = "chain_cache"
    __table_args__ = (UniqueConstraint("chain", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    value: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AddressLabel(Base):
    """An imported statement about an address (the shipped labels live in chain/data)."""

    __tablename__ = "address_labels"
    __table_args__ = (
        UniqueConstraint("chain", "address", "category", "label"),
        CheckConstraint("category IN ('exchange', 'mixer', 'bridge', 'sanctioned', 'phishing', "
                        "'hack')", name="category"),
        Index("ix_address_labels_address", "address"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(128))  # stored lowercased
    label: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    entity: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
