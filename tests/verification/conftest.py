"""Verification test fixtures over the shared migrated databases (tests/conftest.py), plus fakes."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.db import FieldCipher, make_engine, make_sessionmaker
from incidents.models import Incident
from tests.conftest import TEST_FIELD_KEY
from verification.codes import derive_code_key
from verification.sms import SmsReceipt


@pytest.fixture(scope="session", autouse=True)
def field_cipher():
    """EncryptedText columns need the key FIELD_ENCRYPTION_KEY gives in production."""
    return FieldCipher.install([TEST_FIELD_KEY])


@pytest.fixture
def engine(database_url):
    """An engine on the fresh migrated database of this test (SQLite, then PostgreSQL)."""
    engine = make_engine(database_url, **({} if database_url.startswith("sqlite") else
                                          {"pool_size": 4, "max_overflow": 4}))
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    """Sessions like the application's (objects stay usable after commit)."""
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions):
    """One session for the test."""
    with sessions() as session:
        yield session


@pytest.fixture
def code_key():
    """The SMS code key, derived as from SECRET_KEY."""
    return derive_code_key("verification-tests-secret-key")


class RecordingAudit:
    """A fake audit sink: keeps every call so tests can read what would be chained."""

    def __init__(self):
        self.events: list[dict] = []

    def __call__(self, session, *, actor, action, subject_type, subject_id, incident_id, data):
        self.events.append({"actor": actor, "action": action, "subject_type": subject_type,
                            "subject_id": subject_id, "incident_id": incident_id, "data": data})

    def actions(self) -> list[str]:
        """The actions recorded, in order."""
        return [event["action"] for event in self.events]


class RecordingGateway:
    """A fake SMS gateway that keeps the texts it was asked to send."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, *, to, body):
        """Keep the text instead of sending it."""
        self.sent.append((to, body))
        return SmsReceipt(gateway="fake", message_id=str(len(self.sent)))

    def last_code(self) -> str:
        """The six-digit code in the newest text."""
        return re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", self.sent[-1][1]).group()


@pytest.fixture
def audit():
    """A fake audit sink."""
    return RecordingAudit()


@pytest.fixture
def gateway():
    """A fake SMS gateway."""
    return RecordingGateway()


@pytest.fixture
def make_incident(sessions):
    """An incident row to hang verifications on (verification never imports incidents; tests may)."""

    def make(account_id: str | None = None) -> Incident:
        now = datetime.now(UTC)
        with sessions() as session:
            incident = Incident(account_id=account_id or f"U{uuid.uuid4().hex[:10]}", kind="stolen_account",
                                source="report", severity="high", sla_due_at=now + timedelta(hours=24),
                                created_at=now, updated_at=now)
            session.add(incident)
            session.commit()
            return incident

    return make
