"""Databases for the verification tests, built by the migrations on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from cryptography.fernet import Fernet

from app.db import FieldCipher, make_engine, make_sessionmaker
from incidents.models import Incident
from verification.codes import derive_code_key

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def required(service: str) -> bool:
    """LOCKDESK_REQUIRE names services whose absence must fail rather than skip."""
    return service in {name.strip() for name in os.environ.get("LOCKDESK_REQUIRE", "").split(",")}


def migrate(url: str) -> None:
    """Build the schema the way production does: `alembic upgrade heads`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "heads")


@pytest.fixture(scope="session", autouse=True)
def field_cipher():
    """EncryptedText columns need a key, as FIELD_ENCRYPTION_KEY gives in production."""
    return FieldCipher.install([Fernet.generate_key().decode()])


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('verification') / 'lockdesk.db'}"
    migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine():
    name = f"lockdesk_verification_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as error:
        if required("postgresql"):
            pytest.fail(f"PostgreSQL required (LOCKDESK_REQUIRE) but unreachable: {error}")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = None
    try:
        migrate(url)
        engine = make_engine(url, pool_size=4, max_overflow=4)
        yield engine
    finally:
        if engine is not None:
            engine.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def engine(request):
    """Every database test runs on both backends."""
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions):
    with sessions() as session:
        yield session


@pytest.fixture
def code_key():
    return derive_code_key("verification-tests-secret-key")


class RecordingAudit:
    """A fake audit sink: keeps every call so tests can read what would be chained."""

    def __init__(self):
        self.events: list[dict] = []

    def __call__(self, session, *, actor, action, subject_type, subject_id, incident_id, data):
        self.events.append({"actor": actor, "action": action, "subject_type": subject_type,
                            "subject_id": subject_id, "incident_id": incident_id, "data": data})

    def actions(self) -> list[str]:
        return [event["action"] for event in self.events]


class RecordingGateway:
    """A fake SMS gateway that keeps the texts it was asked to send."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []

    def send(self, *, to, body):
        from verification.sms import SmsReceipt
        self.sent.append((to, body))
        return SmsReceipt(gateway="fake", message_id=str(len(self.sent)))

    def last_code(self) -> str:
        return re.search(r"(?<![0-9])[0-9]{6}(?![0-9])", self.sent[-1][1]).group()


@pytest.fixture
def audit():
    return RecordingAudit()


@pytest.fixture
def gateway():
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
