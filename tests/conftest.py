"""Fixtures shared by every test: an application over SQLite and over PostgreSQL, built by the migrations, and
its staff (one fixture per role, made by tests/factories.py)."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.cli import upgrade_database
from tests import services
from tests.factories import WEBHOOK_SECRET, StaffMember, make_staff

# The tests run the demo adapters (the embedded exchange, the SMS and mail logs, SQLite), which production
# mode refuses; the tests of production mode set it themselves. Subprocesses the tests start inherit it.
os.environ["LOCKDESK_ENV"] = "development"

TEST_FIELD_KEY = Fernet.generate_key().decode()

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated once per test session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database migrated once per test process; tests empty it before they start."""
    services.require("postgresql")
    name = services.create_database()
    upgrade_database(services.postgres_url(name))
    yield name
    services.drop_database(name)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "lockdesk.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    name = request.getfixturevalue("postgres_database")
    services.empty_database(name)
    yield services.postgres_url(name)


def make_settings(database_url: str, instance: Path) -> dict:
    """Configuration for a test application: no background worker, generous rate limits."""
    return {
        "TESTING": True,
        "LOCKDESK_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "FIELD_ENCRYPTION_KEY": TEST_FIELD_KEY,
        "ANOMALY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WORKER_ENABLED": False,
        "REPORT_RATE_LIMIT": "10000 per minute",
        "REPORT_ACCOUNT_RATE_LIMIT": "10000 per minute",
        "SMS_LOG_PATH": str(instance / "sms.jsonl"),
    }


@pytest.fixture
def instance(tmp_path) -> Path:
    """The application's instance folder."""
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def settings(database_url, instance) -> dict:
    """Settings a test may change before asking for `app`."""
    return make_settings(database_url, instance)


@pytest.fixture
def app(settings, instance, monkeypatch):
    """The application under test."""
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    application = create_app(settings)
    yield application
    application.extensions["lockdesk"].engine.dispose()


@pytest.fixture
def client(app):
    """A test client of the application."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the application."""
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """A database session outside any request."""
    with app.extensions["lockdesk"].sessions() as db_session:
        yield db_session


@pytest.fixture
def is_postgresql(database_url) -> bool:
    """Whether this test runs on PostgreSQL."""
    return database_url.startswith("postgresql")


@pytest.fixture
def agent(app) -> StaffMember:
    """A support agent (named agent-1) with a bearer token, a console password and an authenticator."""
    return make_staff(app, "agent", "agent-1")


@pytest.fixture
def officer(app) -> StaffMember:
    """A risk officer (named officer-1) with a bearer token, a console password and an authenticator."""
    return make_staff(app, "risk_officer", "officer-1")
