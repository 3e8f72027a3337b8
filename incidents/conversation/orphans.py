"""Stray files: bytes in the store that no attachment row names.

An upload writes its blob before its row and deletes the blob when the row is not written; only a process
killed between the two leaves a blob behind. The sweep deletes those once they are old enough that no upload
can still be on its way to committing its row.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents.conversation.models import Attachment
from incidents.conversation.store import BlobStore

PREFIX = "attachments/"
# Far beyond any upload's time between writing its blob and committing its row.
GRACE = timedelta(hours=1)


def sweep_orphan_blobs(session: Session, *, store: BlobStore, now: datetime | None = None,
                       grace: timedelta = GRACE, limit: int = 500) -> int:
    """Delete up to `limit` blobs older than the grace that no attachment row names; the number deleted."""
    now = now or utcnow()
    candidates = []
    for key in store.keys_older_than(PREFIX, now - grace):
        candidates.append(key)
        if len(candidates) >= limit:
            break
    if not candidates:
        return 0
    named = set(session.scalars(select(Attachment.storage_key).where(Attachment.storage_key.in_(candidates))))
    session.rollback()  # nothing to write: no transaction stays open while the store is called
    strays = [key for key in candidates if key not in named]
    for key in strays:
        store.delete(key)
    return len(strays)
