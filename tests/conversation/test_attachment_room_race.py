"""The last free place for a file is taken once: an upload counts the room again under the case's row lock, so
an upload that finishes meanwhile is counted (PostgreSQL, two connections)."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select, text

from app.db import utcnow
from incidents.access import Principal
from incidents.conversation.attachments import AttachmentLimits, upload_attachment
from incidents.conversation.models import Attachment
from incidents.review_rules import lock_incident
from kernel.errors import Conflict
from tests.conversation.conftest import png

WAITING_ON_A_LOCK = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                         "AND wait_event_type = 'Lock'")


def waiting_on_a_lock(sessions) -> bool:
    """Whether another connection waits for a row lock (polled: the upload's thread gets there on its own)."""
    for _ in range(600):
        with sessions() as probe:
            if probe.scalar(WAITING_ON_A_LOCK):
                return True
        threading.Event().wait(0.05)
    return False


def test_an_upload_waits_for_a_concurrent_one_and_then_finds_the_room_full(app, owner, is_postgresql):
    if not is_postgresql:
        pytest.skip("row locks are PostgreSQL's; SQLite takes one writer at a time")
    runtime = app.extensions["lockdesk"]
    limits = AttachmentLimits(max_per_incident=1)
    with runtime.sessions() as session:
        incident = lock_incident(session, uuid.UUID(owner.incident_id))
        report = incident.reports[0]
        principal = Principal(kind="reporter", id=uuid.uuid4(), incident_id=incident.id, report_id=report.id)
        outcome: list[object] = []

        def second_upload():
            with runtime.sessions() as other:
                try:
                    outcome.append(upload_attachment(other, store=runtime.ports.blob_store, incident_id=incident.id,
                                                     principal=principal, filename="b.png", data=png(),
                                                     limits=limits))
                except Conflict as error:
                    outcome.append(error)

        racer = threading.Thread(target=second_upload)
        racer.start()
        try:
            assert waiting_on_a_lock(runtime.sessions), "the second upload did not wait for the case's row"
        finally:
            # The first upload's row, committed while the second one waits.
            session.add(Attachment(id=uuid.uuid4(), incident_id=incident.id, author="owner", report_id=report.id,
                                   actor=principal.actor, filename="a.png", content_type="image/png", size=1,
                                   sha256="0" * 64, storage_key=f"attachments/{incident.id}/first",
                                   created_at=utcnow()))
            session.commit()
            racer.join()
    assert isinstance(outcome[0], Conflict)
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 1
