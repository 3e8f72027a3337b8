"""`flask --app app keys rotate`: everything encrypted moves to the newest key, so the old key can go."""
from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app import create_app
from app.db import FieldCipher
from app.key_rotation import REGISTRY, EncryptedColumn, Progress, register
from incidents.models import AuditEvent
from tests.conftest import TEST_FIELD_KEY
from tests.incidents.review_support import frozen_case


def plaintexts(app) -> dict[str, dict]:
    """Every encrypted column's decrypted values by primary key, read through the application's cipher."""
    values: dict[str, dict] = {}
    with app.extensions["lockdesk"].sessions() as session:
        for rotator in REGISTRY.rotators():
            if isinstance(rotator, EncryptedColumn):
                (key,) = rotator.table.primary_key.columns
                column = rotator.table.c[rotator.column]
                values[rotator.name] = dict(session.execute(select(key, column).where(column.is_not(None))).all())
    return values


def app_with_keys(settings, keys: str):
    """The same deployment started with another FIELD_ENCRYPTION_KEY list."""
    return create_app({**settings, "FIELD_ENCRYPTION_KEY": keys})


def rotate(app, *args: str):
    """Run the command; its result."""
    return app.test_cli_runner().invoke(args=["keys", "rotate", *args])


@pytest.fixture
def encrypted_case(app):
    """A frozen case: account secrets, snapshots and verification data encrypted under the first key."""
    frozen_case(app)
    before = plaintexts(app)
    assert sum(len(rows) for rows in before.values()) >= 3
    return before


def test_after_rotation_the_old_key_can_be_removed_and_everything_still_reads(app, settings, encrypted_case):
    new_key = Fernet.generate_key().decode()
    both = app_with_keys(settings, f"{new_key},{TEST_FIELD_KEY}")
    result = rotate(both, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["rotated"] == sum(len(rows) for rows in encrypted_case.values()) and counts["already_current"] == 0
    only_new = app_with_keys(settings, new_key)
    assert plaintexts(only_new) == encrypted_case
    for engine_of in (both, only_new):
        engine_of.extensions["lockdesk"].engine.dispose()


def test_the_rotation_is_audited_without_the_key(app, settings, encrypted_case):
    new_key = Fernet.generate_key().decode()
    both = app_with_keys(settings, f"{new_key},{TEST_FIELD_KEY}")
    assert rotate(both).exit_code == 0
    from tests.factories import seal_audit_events

    seal_audit_events(both)
    with both.extensions["lockdesk"].sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotated")).one()
    assert event.actor == "cli" and event.data["keys_configured"] == 2 and event.data["rotated"] > 0
    assert new_key not in json.dumps(event.data) and new_key not in event.subject_id
    both.extensions["lockdesk"].engine.dispose()


def test_a_rotation_stopped_half_way_finishes_when_run_again(app, settings, encrypted_case, monkeypatch):
    new_key = Fernet.generate_key().decode()
    both = app_with_keys(settings, f"{new_key},{TEST_FIELD_KEY}")
    calls = {"left": 2}
    original = FieldCipher.rotate

    def failing_rotate(self, token):
        if calls["left"] == 0:
            raise OSError("the connection went away")
        calls["left"] -= 1
        return original(self, token)

    monkeypatch.setattr(FieldCipher, "rotate", failing_rotate)
    assert rotate(both, "--batch-size", "1").exit_code != 0
    monkeypatch.setattr(FieldCipher, "rotate", original)
    again = json.loads(rotate(both, "--batch-size", "1").output)
    assert again["already_current"] == 2 and again["rotated"] == sum(map(len, encrypted_case.values())) - 2
    only_new = app_with_keys(settings, new_key)
    assert plaintexts(only_new) == encrypted_case
    for engine_of in (both, only_new):
        engine_of.extensions["lockdesk"].engine.dispose()


def test_another_kind_of_encrypted_data_plugs_into_the_rotation(app, settings, monkeypatch):
    seen: list[str] = []

    class StoredFiles:
        name = "stored_files"

        def rotate(self, sessions, cipher, *, batch_size):
            seen.append(cipher.rotate(cipher.encrypt("file body")))
            return Progress(seen=1, rotated=1)

    monkeypatch.setattr(REGISTRY, "extra", [])
    register(lambda: [StoredFiles()])
    counts = json.loads(rotate(app).output)
    assert counts["kinds"]["stored_files"] == {"seen": 1, "rotated": 1, "current": 0} and len(seen) == 1
