"""The file store behind its port: the `file` and `s3` adapters (a real S3-compatible server over HTTP),
encryption at rest with rotation, nothing half stored, retention."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from app.adapters import build_blob_store
from app.db import FieldCipher
from incidents.access import Principal
from incidents.conversation import attachments as files
from incidents.conversation.models import Attachment
from incidents.conversation.s3 import S3BlobStore
from incidents.conversation.store import BlobMissing, BlobStoreUnavailable, FileBlobStore
from incidents.models import AuditEvent, Incident
from tests.conftest import TEST_FIELD_KEY
from tests.conversation.conftest import move_back, png, upload
from tests.conversation.s3server import create_bucket, running_s3_server, s3_settings


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 server, started by the tests in a subprocess, for this module."""
    with running_s3_server() as server:
        yield server


@pytest.fixture
def bucket(s3_server) -> str:
    """A fresh bucket on the server."""
    name = f"lockdesk-{uuid.uuid4().hex[:12]}"
    create_bucket(s3_server, name)
    return name


def owner_principal(app, incident_id: str) -> Principal:
    """The reporter principal of the case's first token."""
    from incidents.models import AccessToken

    with app.extensions["lockdesk"].sessions() as session:
        token = session.scalars(select(AccessToken).where(AccessToken.incident_id == uuid.UUID(incident_id))).first()
        return Principal(kind="reporter", id=token.id, incident_id=token.incident_id, report_id=token.report_id)


def test_the_s3_adapter_puts_gets_and_deletes_over_http(s3_server, bucket):
    store = build_blob_store(s3_settings(s3_server, bucket), "/unused")
    assert isinstance(store, S3BlobStore)
    store.put("attachments/a/b", b"\x00bytes")
    assert store.exists("attachments/a/b") and store.get("attachments/a/b") == b"\x00bytes"
    store.delete("attachments/a/b")
    assert not store.exists("attachments/a/b")
    with pytest.raises(BlobMissing):
        store.get("attachments/a/b")


def _settings(server, bucket):
    """The adapter's settings for the server."""
    from incidents.conversation.s3 import S3Settings

    return S3Settings(bucket=bucket, endpoint_url=server.endpoint_url, region=server.region,
                      access_key_id=server.access_key_id, secret_access_key=server.secret_access_key)


def test_a_missing_bucket_is_unavailable_not_a_crash(s3_server):
    store = S3BlobStore(_settings(s3_server, "no-such-bucket"))
    with pytest.raises(BlobStoreUnavailable):
        store.put("attachments/x", b"data")


@pytest.fixture
def s3_app_settings(settings, s3_server, bucket):
    """The application configured with the `s3` store."""
    settings.update(s3_settings(s3_server, bucket))
    return settings


def test_uploads_through_the_api_land_encrypted_in_the_bucket(s3_app_settings, app, client, owner):
    store = app.extensions["lockdesk"].ports.blob_store
    assert isinstance(store, S3BlobStore)
    stored = upload(client, owner, owner.headers, png()).json
    with app.extensions["lockdesk"].sessions() as session:
        key = session.get(Attachment, uuid.UUID(stored["id"])).storage_key
    raw = store.get(key)
    assert b"PNG" not in raw and FieldCipher.active().decrypt_bytes(raw)[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).status_code == 200


def test_a_failed_commit_leaves_no_orphan_blob(app, owner, instance, monkeypatch):
    store = app.extensions["lockdesk"].ports.blob_store

    def refuse(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(files.audit, "record", refuse)
    with app.extensions["lockdesk"].sessions() as session, pytest.raises(RuntimeError):
        files.upload_attachment(session, store=store, incident_id=uuid.UUID(owner.incident_id),
                                principal=owner_principal(app, owner.incident_id), filename="a.png", data=png(),
                                limits=files.AttachmentLimits())
    assert not any(path.is_file() for path in (instance / "attachments").rglob("*"))
    with app.extensions["lockdesk"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


class BrokenStore(FileBlobStore):
    """A store whose writes fail, as an unreachable bucket would."""

    def put(self, key: str, data: bytes) -> None:
        """Fail."""
        raise BlobStoreUnavailable("the store is down")


def test_a_store_that_fails_leaves_no_row_without_its_blob(app, client, owner, tmp_path):
    app.extensions["lockdesk"].ports.blob_store = BrokenStore(tmp_path / "broken")
    answer = upload(client, owner, owner.headers, png())
    assert answer.status_code == 503 and answer.headers["Content-Type"] == "application/problem+json"
    with app.extensions["lockdesk"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_files_written_under_an_old_key_are_read_and_rewritten_under_the_new_one(app, client, owner):
    stored = upload(client, owner, owner.headers, png()).json
    new_key = Fernet.generate_key().decode()
    FieldCipher.install([new_key, TEST_FIELD_KEY])
    try:
        assert client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).status_code == 200
        store = app.extensions["lockdesk"].ports.blob_store
        with app.extensions["lockdesk"].sessions() as session:
            key = session.get(Attachment, uuid.UUID(stored["id"])).storage_key
        answer = app.test_cli_runner().invoke(args=["attachments", "rotate-keys"])
        assert "1 files re-encrypted" in answer.output
        assert FieldCipher([new_key]).decrypt_bytes(store.get(key))[:4] == b"\x89PNG"
    finally:
        FieldCipher.install([TEST_FIELD_KEY])


def rotate_files_with_keys_rotate(settings, client, owner) -> None:
    """Two files under the old key; `keys rotate` with new,old; then only the new key: both still download."""
    from app import create_app

    ids = [upload(client, owner, owner.headers, png(color=color)).json["id"] for color in ((1, 2, 3), (4, 5, 6))]
    before = {id_: client.get(f"/api/v1/attachments/{id_}", headers=owner.headers).data for id_ in ids}
    new_key = Fernet.generate_key().decode()
    both = create_app({**settings, "FIELD_ENCRYPTION_KEY": f"{new_key},{TEST_FIELD_KEY}"})
    try:
        answer = both.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "1"])
        assert answer.exit_code == 0, answer.output
        assert json.loads(answer.output)["kinds"]["attachments.files"] == {"seen": 2, "rotated": 2, "current": 0}
        again = json.loads(both.test_cli_runner().invoke(args=["keys", "rotate"]).output)
        assert again["rotated"] == 0 and again["kinds"]["attachments.files"]["current"] == 2
        only_new = create_app({**settings, "FIELD_ENCRYPTION_KEY": new_key})
        try:
            reader = only_new.test_client()
            for id_ in ids:
                answer = reader.get(f"/api/v1/attachments/{id_}", headers=owner.headers)
                assert answer.status_code == 200 and answer.data == before[id_]
            store = only_new.extensions["lockdesk"].ports.blob_store
            with only_new.extensions["lockdesk"].sessions() as session:
                keys = session.scalars(select(Attachment.storage_key)).all()
            with pytest.raises(ValueError):
                FieldCipher([TEST_FIELD_KEY]).decrypt_bytes(store.get(keys[0]))
        finally:
            only_new.extensions["lockdesk"].engine.dispose()
    finally:
        both.extensions["lockdesk"].engine.dispose()
        FieldCipher.install([TEST_FIELD_KEY])


def test_keys_rotate_rewrites_the_stored_files_so_the_old_key_can_go(settings, app, client, owner):
    rotate_files_with_keys_rotate(settings, client, owner)


def test_keys_rotate_rewrites_the_files_in_an_s3_bucket(s3_app_settings, app, client, owner):
    assert isinstance(app.extensions["lockdesk"].ports.blob_store, S3BlobStore)
    rotate_files_with_keys_rotate(s3_app_settings, client, owner)


def test_a_tampered_blob_is_never_served(app, client, owner):
    stored = upload(client, owner, owner.headers, png()).json
    store = app.extensions["lockdesk"].ports.blob_store
    with app.extensions["lockdesk"].sessions() as session:
        key = session.get(Attachment, uuid.UUID(stored["id"])).storage_key
    store.put(key, FieldCipher.active().encrypt_bytes(png(color=(0, 0, 0))))
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=owner.headers).status_code == 500


def test_files_are_purged_after_the_retention_and_the_purge_is_audited(app, client, owner, agent_headers, instance):
    stored = upload(client, owner, owner.headers, png()).json
    client.post(f"/api/v1/incidents/{owner.incident_id}/transitions", headers=agent_headers,
                json={"to": "resolved", "reason": "done"})
    jobs = app.extensions["lockdesk"].ports.conversation_jobs
    assert jobs.purge_attachments() == 0  # the case just ended
    move_back(app, "closed_at", timedelta(days=181))
    assert jobs.purge_attachments() == 1
    assert not any(path.is_file() for path in (instance / "attachments").rglob("*"))
    assert client.get(f"/api/v1/attachments/{stored['id']}", headers=agent_headers).status_code == 404
    with app.extensions["lockdesk"].sessions() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "attachment.purged"))
        assert event.data["sha256"] == stored["sha256"] and event.actor == "retention"
        assert session.scalar(select(Incident.status)) == "resolved"


def stray_and_kept(app, client, owner) -> tuple[str, str]:
    """One file uploaded as usual, and a blob a killed upload left behind (stored, its row never written)."""
    store = app.extensions["lockdesk"].ports.blob_store
    stored = upload(client, owner, owner.headers, png()).json
    with app.extensions["lockdesk"].sessions() as session:
        kept = session.get(Attachment, uuid.UUID(stored["id"])).storage_key
    stray = f"attachments/{owner.incident_id}/{uuid.uuid4()}"
    store.put(stray, FieldCipher.active().encrypt_bytes(png()))
    return kept, stray


def swept_after_the_grace(app, client, owner) -> None:
    """A stray blob outlives its grace and is deleted; the kept file stays and still downloads."""
    from incidents.conversation.orphans import GRACE, sweep_orphan_blobs

    store = app.extensions["lockdesk"].ports.blob_store
    kept, stray = stray_and_kept(app, client, owner)
    with app.extensions["lockdesk"].sessions() as session:
        assert sweep_orphan_blobs(session, store=store) == 0  # just written: an upload may still be committing
        later = files.utcnow() + GRACE + timedelta(minutes=1)
        assert sweep_orphan_blobs(session, store=store, now=later) == 1
        assert sweep_orphan_blobs(session, store=store, now=later) == 0
    assert not store.exists(stray) and store.exists(kept)
    with app.extensions["lockdesk"].sessions() as session:
        attachment = session.scalars(select(Attachment)).one()
    assert client.get(f"/api/v1/attachments/{attachment.id}", headers=owner.headers).status_code == 200


def test_a_blob_left_by_a_killed_upload_is_swept_from_the_folder(app, client, owner):
    swept_after_the_grace(app, client, owner)


def test_a_blob_left_by_a_killed_upload_is_swept_from_the_bucket(s3_app_settings, app, client, owner):
    assert isinstance(app.extensions["lockdesk"].ports.blob_store, S3BlobStore)
    swept_after_the_grace(app, client, owner)


def test_the_worker_sweeps_stray_files_with_the_conversations_jobs(app, client, owner):
    kept, stray = stray_and_kept(app, client, owner)
    store = app.extensions["lockdesk"].ports.blob_store
    jobs = app.extensions["lockdesk"].ports.conversation_jobs
    jobs.clock = lambda: files.utcnow() + timedelta(hours=2)
    assert jobs.sweep_strays() == 1
    assert not store.exists(stray) and store.exists(kept)


class ListedInOrder(FileBlobStore):
    """The folder adapter, its old keys listed in name order (so that kept files come before the strays)."""

    def keys_older_than(self, prefix, moment):
        """The folder's keys, sorted."""
        return iter(sorted(super().keys_older_than(prefix, moment)))


def kept_rows(app, incident_id: str, store, count: int, *, purged: int = 0) -> list[str]:
    """`count` attachment rows and their blobs, keys sorting before any stray; the last `purged` purged."""
    keys = [f"attachments/{incident_id}/a-{index:04d}" for index in range(count)]
    with app.extensions["lockdesk"].sessions() as session:
        for index, key in enumerate(keys):
            session.add(Attachment(incident_id=uuid.UUID(incident_id), author="reporter", actor="owner",
                                   filename="shot.png", content_type="image/png", size=1, sha256="0" * 64,
                                   storage_key=key, purged_at=files.utcnow() if index >= count - purged else None))
            store.put(key, b"bytes")
        session.commit()
    return keys


def test_kept_files_beyond_the_limit_never_hide_the_strays(app, owner, instance):
    from incidents.conversation.orphans import GRACE, sweep_orphan_blobs

    store = ListedInOrder(instance)
    kept = kept_rows(app, owner.incident_id, store, 12)
    strays = [f"attachments/{owner.incident_id}/z-{index}" for index in range(3)]
    for key in strays:
        store.put(key, b"bytes")
    later = files.utcnow() + GRACE + timedelta(minutes=1)
    with app.extensions["lockdesk"].sessions() as session:
        assert sweep_orphan_blobs(session, store=store, now=later, limit=2, page=5) == 2  # the limit holds
        assert sweep_orphan_blobs(session, store=store, now=later, limit=2, page=5) == 1
        assert sweep_orphan_blobs(session, store=store, now=later, limit=2, page=5) == 0
    assert all(store.exists(key) for key in kept) and not any(store.exists(key) for key in strays)


def test_a_blob_under_a_purged_files_key_is_a_stray(app, owner, instance):
    from incidents.conversation.orphans import GRACE, sweep_orphan_blobs

    store = ListedInOrder(instance)
    kept = kept_rows(app, owner.incident_id, store, 3, purged=1)
    later = files.utcnow() + GRACE + timedelta(minutes=1)
    with app.extensions["lockdesk"].sessions() as session:
        assert sweep_orphan_blobs(session, store=store, now=later) == 1
    assert [store.exists(key) for key in kept] == [True, True, False]


def test_the_workers_tick_sweeps_stray_files_once_per_grace(app, client, owner):
    kept, stray = stray_and_kept(app, client, owner)
    store = app.extensions["lockdesk"].ports.blob_store
    jobs = app.extensions["lockdesk"].ports.conversation_jobs
    jobs.clock, jobs.every_seconds = (lambda: files.utcnow() + timedelta(hours=2)), 0
    jobs()
    assert not store.exists(stray) and store.exists(kept)
    _, second = stray_and_kept(app, client, owner)
    jobs()  # the next tick: the waiting clock and the retention run, the folder is not listed again
    assert store.exists(second)
    jobs(force=True)
    assert not store.exists(second)
