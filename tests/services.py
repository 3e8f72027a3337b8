"""Real services the integration tests need, and how a test asks for one.

A test that needs PostgreSQL, Redis, anvil or Chromium calls `require(name)`. Where the service is
absent the test is skipped with the reason, unless LOCKDESK_REQUIRE names it (CI sets
LOCKDESK_REQUIRE=postgresql,redis,anvil,chromium), in which case the test fails: CI always proves
the real components.
"""
from __future__ import annotations

import functools
import os
import shutil
import socket
import uuid

import pytest

POSTGRES_HOST = os.environ.get("LOCKDESK_TEST_PGHOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("LOCKDESK_TEST_PGPORT", "5432"))
POSTGRES_USER = os.environ.get("LOCKDESK_TEST_PGUSER", "postgres")
REDIS_URL = os.environ.get("LOCKDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def required() -> set[str]:
    """The services this run must have (from LOCKDESK_REQUIRE)."""
    return {name.strip() for name in os.environ.get("LOCKDESK_REQUIRE", "").split(",") if name.strip()}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@functools.cache
def postgresql_available() -> bool:
    """PostgreSQL answers a query."""
    if not _port_open(POSTGRES_HOST, POSTGRES_PORT):
        return False
    import psycopg

    try:
        with psycopg.connect(admin_dsn(), connect_timeout=3) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


@functools.cache
def redis_available() -> bool:
    """Redis answers PING."""
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    return os.environ.get("LOCKDESK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def anvil_available() -> bool:
    """The anvil EVM node can be run (installed from npm on first use)."""
    from tests.chain.anvil import anvil_binary

    return anvil_binary() is not None


def s3_server_available() -> bool:
    """An S3-compatible server can be started (moto's server mode, installed with the test extras)."""
    import importlib.util

    return importlib.util.find_spec("moto") is not None and importlib.util.find_spec("flask_cors") is not None


CHECKS = {
    "anvil": (anvil_available, "anvil is not installed and npm could not install it"),
    "postgresql": (postgresql_available, "PostgreSQL is not reachable on 127.0.0.1:5432"),
    "redis": (redis_available, "Redis is not reachable on 127.0.0.1:6379"),
    "chromium": (lambda: chromium_path() is not None, "Chromium is not installed (apt-get install chromium)"),
    "s3": (s3_server_available, "moto[server] is not installed (pip install -e '.[test]')"),
}


def require(name: str) -> None:
    """Skip (or, when LOCKDESK_REQUIRE names it, fail) unless the service is here."""
    check, reason = CHECKS[name]
    if check():
        return
    if name in required():
        pytest.fail(f"{reason}, and LOCKDESK_REQUIRE says this run must prove it")
    pytest.skip(reason)


def admin_dsn(database: str = "postgres") -> str:
    """A libpq connection string for administrative statements."""
    return f"host={POSTGRES_HOST} port={POSTGRES_PORT} user={POSTGRES_USER} dbname={database}"


def postgres_url(database: str) -> str:
    """The SQLAlchemy URL of a test database."""
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def create_database(template: str | None = None) -> str:
    """Create a uniquely named database (optionally copied from a template); return its name."""
    import psycopg

    name = f"lockdesk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn(), autocommit=True) as connection:
        suffix = f" TEMPLATE {template}" if template else ""
        connection.execute(f'CREATE DATABASE "{name}"{suffix}')
    return name


def drop_database(name: str) -> None:
    """Drop a test database, ending any connection left to it."""
    import psycopg

    with psycopg.connect(admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def end_connections(name: str) -> int:
    """End every server connection to the database, as a restart of PostgreSQL would; how many were ended."""
    import psycopg

    with psycopg.connect(admin_dsn(name), autocommit=True) as connection:
        return len(connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


def empty_database(name: str) -> None:
    """Empty every table but Alembic's and restart the sequences (much faster than a new database).

    Connections a previous test left behind are ended first, so nothing holds a lock on a table.
    """
    import psycopg

    with psycopg.connect(admin_dsn(name), autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        tables = [row[0] for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")]
        connection.execute("ALTER TABLE audit_events ENABLE TRIGGER ALL")
        connection.execute(f"TRUNCATE {', '.join(f'{table!r}'.replace(chr(39), chr(34)) for table in tables)} "
                           "RESTART IDENTITY CASCADE")
