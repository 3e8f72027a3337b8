"""Tables of the conversation: messages (one thread per reporter) and the files attached to them."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, EncryptedText, new_id, utcnow
from incidents.models import BigIntKey, Staff

AUTHORS = ("owner", "staff", "system")
VISIBILITIES = ("public", "internal")


class Message(Base):
    """One message of a case: the owner's, staff's (public reply or internal note) or the system's."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_incident_id_number", "incident_id", "number"),)

    # The order of the conversation and its cursor: ids are random, times can tie.
    number: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"))
    # Whose thread: the report of the reporter it is with (None for a note on the whole case).
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    author_staff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(100))
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    # What owners write holds ID numbers and addresses: encrypted at rest like the other personal fields.
    body: Mapped[str] = mapped_column(EncryptedText)
    awaiting_reply: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.created_at",
                                                         lazy="selectin")
    author_staff: Mapped[Staff | None] = relationship(lazy="selectin")

    @property
    def author_name(self) -> str | None:
        """The staff member's display name (owners and the system stay unnamed)."""
        return self.author_staff.name if self.author_staff is not None else None


class Attachment(Base):
    """A file of a case: stored encrypted under `storage_key`, its SHA-256 of the stored (cleaned) bytes."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), index=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("messages.id"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]

    message: Mapped[Message | None] = relationship(back_populates="attachments")
