"""Wiring of the case conversation: its settings, the upload routes' marker, the waiting and retention jobs."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.config import setting
from app.db import FieldCipher, Progress, utcnow
from app.key_rotation import register
from incidents.conversation.attachments import (
    AttachmentLimits,
    purge_expired_attachments,
    rotate_attachment_keys,
)
from incidents.conversation.orphans import GRACE, sweep_orphan_blobs
from incidents.conversation.store import BlobStoreUnavailable
from incidents.waiting import sweep_waiting

log = logging.getLogger("lockdesk.conversation")
# Room for the multipart envelope and a message typed beside the file on the pages.
FORM_OVERHEAD_BYTES = 64 * 1024
UPLOAD_RATE_LIMIT = "20 per 10 minutes"


def attachment_limits(config) -> AttachmentLimits:
    """ATTACHMENT_MAX_BYTES (10 MiB) and ATTACHMENT_MAX_PER_INCIDENT (20)."""
    return AttachmentLimits(max_bytes=setting(config, "ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
                            max_per_incident=setting(config, "ATTACHMENT_MAX_PER_INCIDENT", 20))


def upload_rate_limit() -> str:
    """ATTACHMENT_RATE_LIMIT: uploads per token (API) or per owner session (page)."""
    return setting(current_app.config, "ATTACHMENT_RATE_LIMIT", UPLOAD_RATE_LIMIT)


def upload_body_bytes(config) -> int:
    """How large an upload route's body may be: a whole file (its own limit is checked later) and its form."""
    return attachment_limits(config).max_bytes + FORM_OVERHEAD_BYTES


def accepts_upload(view: Callable) -> Callable:
    """Mark a view that takes a file (multipart, not JSON): the edge lets its body be as large as a file and its form."""
    view.accepts_upload = True
    view.max_body_bytes = upload_body_bytes
    return view


class ConversationJobs:
    """The waiting clock (reminders, closing silent cases) and the files' retention, every few minutes; the
    stray files, whose sweep lists the whole folder or bucket, only once per grace."""

    def __init__(self, app: Flask, *, every_seconds: float = 60.0,
                 strays_every_seconds: float = GRACE.total_seconds()):
        runtime = app.extensions["lockdesk"]
        self.sessions, self.store, self.config = runtime.sessions, runtime.ports.blob_store, app.config
        self.every_seconds, self.strays_every_seconds = every_seconds, strays_every_seconds
        self._last = self._last_strays = float("-inf")

    def clock(self) -> datetime:
        """The injectable clock (LOCKDESK_CLOCK), else the server's."""
        clock = self.config.get("LOCKDESK_CLOCK")
        return clock() if clock else utcnow()

    def __call__(self, *, force: bool = False) -> int:
        """Run the jobs that are due; the amount of work done."""
        if not force and time.monotonic() - self._last < self.every_seconds:
            return 0
        self._last = time.monotonic()
        done = self.sweep_waiting() + self.purge_attachments()
        if force or time.monotonic() - self._last_strays >= self.strays_every_seconds:
            self._last_strays = time.monotonic()
            done += self.sweep_strays()
        return done

    def sweep_waiting(self) -> int:
        """Remind owners and close silent, unfrozen cases."""
        days = setting(self.config, "AWAITING_USER_CLOSE_DAYS", 7)
        with self.sessions() as session:
            sweep = sweep_waiting(session, close_after=timedelta(days=days), now=self.clock())
        return len(sweep.reminded) + len(sweep.closed)

    def purge_attachments(self) -> int:
        """Purge the files of cases that ended ATTACHMENT_RETENTION_DAYS ago."""
        days = setting(self.config, "ATTACHMENT_RETENTION_DAYS", 180)
        with self.sessions() as session:
            return purge_expired_attachments(session, store=self.store, retention_days=days, now=self.clock())

    def sweep_strays(self) -> int:
        """Delete blobs no attachment names (left by a process killed between storing a file and its row)."""
        try:
            with self.sessions() as session:
                return sweep_orphan_blobs(session, store=self.store, now=self.clock())
        except BlobStoreUnavailable:
            log.warning("the file store did not answer; stray files are swept on a later tick")
            return 0


class StoredFiles:
    """The case files in the blob store, as one kind of encrypted data `keys rotate` re-encrypts."""

    name = "attachments.files"

    def rotate(self, sessions, cipher: FieldCipher, *, batch_size: int) -> Progress:
        """Rewrite every file not yet under the newest key, in batches; the store of the running application."""
        store = current_app.extensions["lockdesk"].ports.blob_store
        with sessions() as session:
            return rotate_attachment_keys(session, store=store, cipher=cipher, batch=batch_size)


register(lambda: [StoredFiles()])

attachments_cli = AppGroup("attachments", help="The case files.")


@attachments_cli.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt every stored file under the newest key (`keys rotate` does this along with the columns)."""
    runtime = current_app.extensions["lockdesk"]
    with runtime.sessions() as session:
        counts = rotate_attachment_keys(session, store=runtime.ports.blob_store)
    click.echo(f"{counts.rotated} files re-encrypted under the newest key")


@attachments_cli.command("purge")
def purge_command() -> None:
    """Purge now the files whose retention ended (the worker does it every minute)."""
    click.echo(f"{ConversationJobs(current_app).purge_attachments()} files purged")


def init_app(app: Flask) -> None:
    """Register the jobs and the command group."""
    app.extensions["lockdesk"].ports.conversation_jobs = ConversationJobs(app)
    app.cli.add_command(attachments_cli)
