"""Stray files: bytes in the store that no attachment row names.

An upload writes its blob before its row and deletes the blob when the row is not written; only a process
killed between the two leaves a blob behind. The sweep deletes those once they are old enough that no upload
can still be on its way to committing its row.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from incidents.conversation.models import Attachment
from incidents.conversation.store import BlobStore

PREFIX = "attachments/"
# Far beyond any upload's time between writing its blob and committing its row.
GRACE = timedelta(hours=1)
# Keys looked up in one query (well inside every database's limit on bound parameters).
PAGE = 1000


def sweep_orphan_blobs(session: Session, *, store: BlobStore, now: datetime | None = None,
                       grace: timedelta = GRACE, limit: int = 500, page: int = PAGE) -> int:
    """Delete up to `limit` blobs older than the grace that no live attachment row names; the number deleted.

    The store's old keys are looked up `page` at a time until `limit` strays are found, so any number of kept
    files ahead of them in the listing never hides a stray. A purged row no longer names its key: a blob
    written under it after the purge is a stray too.
    """
    now = now or utcnow()
    strays: list[str] = []
    batch: list[str] = []
    for key in store.keys_older_than(PREFIX, now - grace):
        batch.append(key)
        if len(batch) >= page:
            strays += _unnamed(session, batch)
            batch = []
            if len(strays) >= limit:
                break
    if batch and len(strays) < limit:
        strays += _unnamed(session, batch)
    for key in strays[:limit]:
        store.delete(key)
    return len(strays[:limit])


def _unnamed(session: Session, keys: Iterable[str]) -> list[str]:
    """The keys no live attachment row names; no transaction stays open while the store is called."""
    keys = list(keys)
    named = set(session.scalars(select(Attachment.storage_key)
                                .where(Attachment.storage_key.in_(keys), Attachment.purged_at.is_(None))))
    session.rollback()
    return [key for key in keys if key not in named]
