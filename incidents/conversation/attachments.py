"""Evidence files of a case: upload (cleaned, encrypted, hashed into the audit chain), download, purge."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import FieldCipher, Progress, utcnow
from kernel.errors import Conflict, DomainError, InvalidInput, NotFound
from incidents import audit
from incidents.access import Principal
from incidents.conversation.models import Attachment, Message
from incidents.conversation.sniffing import clean_upload
from incidents.conversation.store import BlobMissing, BlobStore
from incidents.models import Incident
from incidents.queue import get_incident
from incidents.review_rules import lock_incident
from incidents.states import IllegalTransition


@dataclass(frozen=True)
class AttachmentLimits:
    """How large a file may be and how many a case may hold."""

    max_bytes: int = 10 * 1024 * 1024
    max_per_incident: int = 20


@dataclass(frozen=True)
class AttachmentFile:
    """A stored file and its bytes, as decrypted for a permitted reader."""

    attachment: Attachment
    data: bytes


class TamperedFile(DomainError):
    """The stored bytes no longer match the SHA-256 the audit chain holds."""

    status, slug, title = 500, "internal", "Stored file does not match its hash"


def author_of(principal: Principal) -> str:
    """The conversation's name for a caller."""
    return "staff" if principal.kind == "staff" else "owner"


def upload_attachment(session: Session, *, store: BlobStore, incident_id: uuid.UUID, principal: Principal,
                      filename: str | None, data: bytes, limits: AttachmentLimits,
                      now: datetime | None = None) -> Attachment:
    """Clean and store one file of a case; the blob is written before the row, and removed if the row is not."""
    now = now or utcnow()
    clean = clean_upload(filename=filename, data=data, max_bytes=limits.max_bytes)
    _check_room(session, get_incident(session, incident_id=incident_id), limits, principal)
    session.rollback()  # the store is a network peer: no transaction stays open across the upload
    attachment_id = uuid.uuid4()
    key = f"attachments/{incident_id}/{attachment_id}"
    store.put(key, FieldCipher.active().encrypt_bytes(clean.data))
    try:
        # Checked again under the case's row lock, so two uploads at the last free place cannot both take it.
        _check_room(session, lock_incident(session, incident_id), limits, principal)
        row = Attachment(id=attachment_id, incident_id=incident_id, author=author_of(principal),
                         report_id=principal.report_id if principal.kind == "reporter" else None,
                         actor=principal.actor, filename=clean.filename, content_type=clean.content_type,
                         size=len(clean.data), sha256=hashlib.sha256(clean.data).hexdigest(), storage_key=key,
                         created_at=now)
        session.add(row)
        audit.record(session, actor=principal.actor, action="attachment.uploaded", subject_type="attachment",
                     subject_id=row.id, incident_id=incident_id, now=now,
                     data={"filename": row.filename, "content_type": row.content_type, "size": row.size,
                           "sha256": row.sha256})
        session.commit()
    except BaseException:
        session.rollback()
        store.delete(key)
        raise
    return row


def _check_room(session: Session, incident: Incident, limits: AttachmentLimits, principal: Principal) -> None:
    """A closed case takes no files, and each reporter (and the staff together) at most `max_per_incident` of
    their own uploads: a second reporter of the account, who may be the thief, cannot use up the room the owner
    needs for evidence, nor can the staff's files sent into the owner's thread. The registered contact's links
    (bound to no report) share one room of their own, the owner's files with no report."""
    if incident.status == "closed":
        raise IllegalTransition("the case is closed", current=incident.status, allowed=[])
    uploads = select(func.count()).select_from(Attachment).where(Attachment.incident_id == incident.id,
                                                                  Attachment.author == author_of(principal))
    if principal.kind == "reporter":  # a staff file sent into this thread carries its report_id too
        uploads = uploads.where(Attachment.report_id.is_(None) if principal.report_id is None
                                else Attachment.report_id == principal.report_id)
    count = session.scalar(uploads) or 0
    if count >= limits.max_per_incident:
        raise Conflict(f"the case already holds {limits.max_per_incident} files",
                       max_per_incident=limits.max_per_incident)


def may_read(attachment: Attachment, principal: Principal) -> bool:
    """Staff, and the reporter in whose thread the file is (its own upload, or a public message to it); for a
    token bound to no report (the registered contact's), the files of the public messages with no report, never
    an internal note's."""
    if principal.kind == "staff":
        return True
    if attachment.incident_id != principal.incident_id or attachment.report_id != principal.report_id:
        return False
    if attachment.message is None:
        return attachment.actor == principal.actor
    return attachment.message.visibility == "public"


def open_attachment(session: Session, *, store: BlobStore, attachment_id: uuid.UUID,
                    principal: Principal) -> AttachmentFile:
    """The decrypted bytes of a file for a permitted reader; 404 for anyone else and for a purged file.
    Each read is an audit event: the chain of custody names everyone who took the file."""
    row = session.get(Attachment, attachment_id)
    if row is None or row.purged_at is not None or not may_read(row, principal):
        raise NotFound("no such attachment")
    audit.record(session, actor=principal.actor, action="attachment.read", subject_type="attachment",
                 subject_id=row.id, incident_id=row.incident_id, data={"sha256": row.sha256})
    session.commit()  # the read is on record, and no transaction is open while the store is asked
    try:
        data = FieldCipher.active().decrypt_bytes(store.get(row.storage_key))
    except BlobMissing as exc:
        raise NotFound("no such attachment") from exc
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise TamperedFile(f"attachment {row.id} does not match its recorded SHA-256")
    return AttachmentFile(attachment=row, data=data)


def attachments_of_thread(session: Session, *, incident_id: uuid.UUID, principal: Principal) -> list[Attachment]:
    """The files a caller may read on a case, oldest first (staff: all of them)."""
    query = (select(Attachment).where(Attachment.incident_id == incident_id, Attachment.purged_at.is_(None))
             .order_by(Attachment.created_at))
    return [row for row in session.scalars(query) if may_read(row, principal)]


def purge_expired_attachments(session: Session, *, store: BlobStore, retention_days: int,
                              now: datetime | None = None, limit: int = 100) -> int:
    """Delete the files of cases that ended `retention_days` ago; each purge is audited. The number purged."""
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    query = (select(Attachment).join(Incident, Incident.id == Attachment.incident_id)
             .where(Attachment.purged_at.is_(None), Incident.status.in_(("resolved", "closed")),
                    Incident.closed_at <= cutoff).order_by(Attachment.created_at).limit(limit))
    due = [(row.id, row.storage_key) for row in session.scalars(query)]
    session.commit()
    for _id, key in due:  # deleted first: a row marked purged never points at bytes that are still there
        store.delete(key)
    for attachment_id, _key in due:
        row = session.get(Attachment, attachment_id)
        row.purged_at = now
        audit.record(session, actor="retention", action="attachment.purged", subject_type="attachment",
                     subject_id=row.id, incident_id=row.incident_id, now=now,
                     data={"sha256": row.sha256, "retention_days": retention_days})
    session.commit()
    return len(due)


def claim_for_message(session: Session, *, incident_id: uuid.UUID, ids: list[uuid.UUID], principal: Principal,
                      message: Message) -> list[Attachment]:
    """Attach the caller's own unattached files of this case to a message; 422 naming attachment_ids otherwise."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    rows = {row.id: row for row in session.scalars(
        select(Attachment).where(Attachment.id.in_(wanted)).with_for_update())}
    for attachment_id in wanted:
        row = rows.get(attachment_id)
        if row is None or row.incident_id != incident_id or row.purged_at is not None:
            raise InvalidInput("attachment_ids", f"{attachment_id} is not a file of this case")
        if row.message_id is not None:
            raise InvalidInput("attachment_ids", f"{attachment_id} is already attached to a message")
        if row.author != author_of(principal) or (principal.kind == "reporter" and row.actor != principal.actor):
            raise InvalidInput("attachment_ids", f"{attachment_id} was not uploaded by you")
    for attachment_id in wanted:
        rows[attachment_id].message_id, rows[attachment_id].report_id = message.id, message.report_id
    return [rows[attachment_id] for attachment_id in wanted]


def rotate_attachment_keys(session: Session, *, store: BlobStore, cipher: FieldCipher | None = None,
                           batch: int = 100) -> Progress:
    """Re-encrypt every stored file under the cipher's newest key, skipping those already under it.

    Each file is rewritten whole (a put replaces the object), so a run stopped half-way is run again.
    """
    cipher, counts, after = cipher or FieldCipher.active(), Progress(), None
    while True:
        query = select(Attachment.id, Attachment.storage_key).where(Attachment.purged_at.is_(None))
        if after is not None:
            query = query.where(Attachment.id > after)
        rows = session.execute(query.order_by(Attachment.id).limit(batch)).all()
        session.commit()  # no transaction open while the store is asked
        for _id, key in rows:
            try:
                token = store.get(key)
            except BlobMissing:  # purged since the rows were read
                continue
            counts.seen += 1
            if cipher.is_current(token.decode("ascii")):
                counts.current += 1
                continue
            store.put(key, cipher.rotate_bytes(token))
            counts.rotated += 1
        if len(rows) < batch:
            return counts
        after = rows[-1][0]
