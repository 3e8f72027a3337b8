"""The real stack the bench measures: databases, the exchange back office, gunicorn, the worker, anvil.

Every part is a separate process on 127.0.0.1, started here and stopped at the end; the databases the
bench creates (PostgreSQL) or writes (SQLite, in a temporary folder) are dropped with it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography.fernet import Fernet

from bench.signing import EXCHANGE_KEY, EXCHANGE_SECRET, signed_headers

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, os.environ.get("BENCH_PGUSER", "postgres")
STARTUP_SECONDS = 60
# The background worker shares the two cores with the web workers here, as it would not in production
# (Celery hosts of its own): it runs at a lower CPU priority, so follow-ups, sealing and messages yield
# to requests and catch up after a load (the intake reports how long that took).
WORKER_NICENESS = 10


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url(name: str) -> str:
    """The SQLAlchemy URL of a bench database."""
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _admin(statement: str) -> None:
    """Run one administrative statement on the server."""
    import psycopg

    with psycopg.connect(f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres",
                         autocommit=True) as connection:
        connection.execute(statement)


@dataclass
class Database:
    """A fresh, migrated database: a PostgreSQL database the bench drops, or a SQLite file in a temp folder."""

    url: str
    pg_name: str | None = None

    @classmethod
    def create(cls, kind: str, folder: Path) -> Database:
        """Create and migrate one."""
        from app.cli import upgrade_database

        if kind == "postgresql":
            name = f"lockdesk_bench_{uuid.uuid4().hex[:10]}"
            _admin(f'CREATE DATABASE "{name}"')
            database = cls(postgres_url(name), name)
        else:
            database = cls(f"sqlite:///{folder / f'lockdesk-{uuid.uuid4().hex[:6]}.sqlite'}")
        upgrade_database(database.url)
        return database

    @property
    def kind(self) -> str:
        """postgresql or sqlite."""
        return "postgresql" if self.pg_name else "sqlite"

    def drop(self) -> None:
        """Drop the PostgreSQL database (SQLite files go with the temp folder)."""
        if self.pg_name:
            _admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


@dataclass
class Process:
    """A child process with its log file; stop() terminates it."""

    name: str
    popen: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def check(self) -> None:
        """Fail loudly with the log's tail if the process died."""
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")


def spawn(name: str, argv: list[str], env: dict[str, str], folder: Path) -> Process:
    """Start a child in the repository with its output in a log file."""
    log = folder / f"{name}.log"
    handle = open(log, "ab")  # noqa: SIM115 - the child owns it for its lifetime
    popen = subprocess.Popen(argv, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    return Process(name, popen, log)


def wait_http(url: str, process: Process, *, ok=(200,), headers: dict | None = None) -> None:
    """Poll a URL until it answers with an expected status."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        process.check()
        try:
            if requests.get(url, timeout=2, headers=headers).status_code in ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer on {url}")


@dataclass
class Settings:
    """What every Lockdesk process of one bench stack shares."""

    field_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lockdesk-bench-")))

    def environment(self, database_url: str, **extra: str) -> dict[str, str]:
        """The environment of a Lockdesk process over `database_url`."""
        env = {key: value for key, value in os.environ.items() if not key.startswith(("LOCKDESK_", "EXCHANGE_"))}
        env.update({
            "DATABASE_URL": database_url, "SECRET_KEY": "bench-secret-key", "FIELD_ENCRYPTION_KEY": self.field_key,
            "ANOMALY_WEBHOOK_SECRET": "bench-webhook-secret", "LOCKDESK_INSTANCE_PATH": str(self.folder / "instance"),
            "LOCKDESK_ENV": "development", "LOG_LEVEL": "WARNING", "WORKER_ENABLED": "0", "SMS_LOG_PATH": str(self.folder / "sms.jsonl"),
            "PYTHONPATH": str(REPO), **extra})
        return env


class ExchangeBackoffice:
    """`flask exchange serve` over its own PostgreSQL database: the remote peer, with an answer delay."""

    # The burst's 64 concurrent clients each wait out the injected delay on a gunicorn thread of their own.
    THREADS = 64

    def __init__(self, settings: Settings, stack: ExitStack):
        self.database = Database.create("postgresql", settings.folder)
        stack.callback(self.database.drop)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = settings.environment(self.database.url, EXCHANGE_API_KEY=EXCHANGE_KEY,
                                   EXCHANGE_API_SECRET=EXCHANGE_SECRET)
        self.process = spawn("exchange", [str(BIN / "flask"), "--app", "app", "exchange", "serve",
                                          "--port", str(self.port), "--threads", str(self.THREADS)],
                             env, settings.folder)
        stack.callback(self.process.stop)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """The server answers (401 without a signature is an answer)."""
        wait_http(f"{self.url}/v1/accounts/none", self.process, ok=(401,))

    def set_delay(self, milliseconds: float) -> None:
        """Make every answer wait this long (the exchange's own latency)."""
        body = b'{"delay_seconds": %f}' % (milliseconds / 1000)
        headers = {**signed_headers("POST", "/_faults", body), "Content-Type": "application/json"}
        requests.post(f"{self.url}/_faults", data=body, headers=headers, timeout=5).raise_for_status()

    def calls_by_kind(self) -> dict[str, int]:
        """The exchange's call counters (`GET /_calls`), by kind."""
        answer = requests.get(f"{self.url}/_calls", headers=signed_headers("GET", "/_calls"), timeout=10)
        answer.raise_for_status()
        return answer.json()["by_kind"]

    def open_accounts(self, prefix: str, count: int) -> list[str]:
        """Bulk-create `count` accounts with one executemany, returning their ids."""
        from app.db import make_engine, utcnow
        from exchange_sim.models import BackofficeAccount

        ids = [f"{prefix}{n:06d}" for n in range(count)]
        now = utcnow()
        rows = [{"id": account, "state": "active", "email": "owner@example.com", "phone": "+15550001",
                 "anti_phishing_code": "BENCH", "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                 "totp_bound_at": now, "phone_bound_at": now, "active_sessions": 1, "active_api_keys": 0,
                 "freezes": 0, "created_at": now, "changed_at": now} for account in ids]
        engine = make_engine(self.database.url)
        with engine.begin() as connection:
            connection.execute(BackofficeAccount.__table__.insert(), rows)
        engine.dispose()
        return ids

    def freeze_counts(self) -> dict[str, int]:
        """Frozen accounts, accounts frozen more than once, and distinct freeze keys, from the exchange's tables."""
        import psycopg

        with psycopg.connect(self.database.url.replace("postgresql+psycopg", "postgresql")) as connection:
            frozen, twice = connection.execute(
                "SELECT count(*) FILTER (WHERE state = 'frozen'), count(*) FILTER (WHERE freezes > 1) "
                "FROM backoffice_accounts").fetchone()
            keys = connection.execute(
                "SELECT count(*) FROM backoffice_requests WHERE operation = 'freeze'").fetchone()[0]
        return {"frozen": frozen, "frozen_twice": twice, "freeze_keys": keys}


class LockdeskServer:
    """gunicorn serving Lockdesk (the floor endpoint on), plus one `flask worker` process."""

    def __init__(self, settings: Settings, database: Database, exchange: ExchangeBackoffice, stack: ExitStack, *,
                 workers: int = 2, worker_class: str = "gthread", threads: int = 16, with_worker: bool = True,
                 extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = settings.environment(database.url, **{
            "EXCHANGE_ADAPTER": "http", "EXCHANGE_API_BASE": exchange.url, "EXCHANGE_API_KEY": EXCHANGE_KEY,
            "EXCHANGE_API_SECRET": EXCHANGE_SECRET, "BENCH_FLOOR": "1", "RATELIMIT_STORAGE_URI": rate_limit_storage(),
            "REPORT_RATE_LIMIT": "1000000 per minute", "REPORT_ACCOUNT_RATE_LIMIT": "1000000 per minute",
            "EXCHANGE_BREAKER_FAILURES": "1000000", **(extra_env or {})})
        argv = [str(BIN / "gunicorn"), "--config", "python:app.gunicorn_config", "--workers", str(workers),
                "--worker-class", worker_class,
                "--bind", f"127.0.0.1:{self.port}", "--backlog", "2048", "--log-level", "warning",
                "--timeout", "120"]
        if worker_class == "gthread":
            argv += ["--threads", str(threads)]
        self.process = spawn(f"gunicorn-{database.kind}", argv + ["app:create_app()"], self.env, settings.folder)
        stack.callback(self.process.stop)
        wait_http(f"{self.url}/healthz", self.process)
        self.worker: Process | None = None
        self._worker_name, self._folder = f"worker-{database.kind}", settings.folder
        if with_worker:
            self._start_worker()
            stack.callback(lambda: self.worker.stop())

    def _start_worker(self) -> None:
        """One `flask worker`, at a lower CPU priority."""
        argv = ["nice", "-n", str(WORKER_NICENESS), str(BIN / "flask"), "--app", "app", "worker"]
        self.worker = spawn(self._worker_name, argv, self.env, self._folder)

    @contextmanager
    def worker_stopped(self) -> Iterator[None]:
        """No background worker during the block: it finishes its batch and exits (SIGTERM), and a new one
        starts after. Not a SIGSTOP: a worker frozen inside a transaction would hold SQLite's write lock."""
        assert self.worker is not None
        self.worker.stop()
        try:
            yield
        finally:
            self._start_worker()

    def process_roots(self, exchange: ExchangeBackoffice) -> dict[str, int]:
        """The processes whose CPU the bench accounts for: gunicorn (and its workers), the worker, the exchange."""
        roots = {"web": self.process.popen.pid, "exchange peer": exchange.process.popen.pid}
        if self.worker is not None:
            roots["worker"] = self.worker.popen.pid
        return roots


def rate_limit_storage() -> str:
    """Redis, as in production (limits shared by the web workers), where it answers; else in-process memory."""
    import redis

    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return "memory://"
    return url


def install_cipher(settings: Settings) -> None:
    """Let this process encrypt fields the way the servers read them."""
    from app.db import FieldCipher

    FieldCipher.install([settings.field_key])


def staff_token(database_url: str, role: str = "admin") -> str:
    """A bearer token of a new staff member, made directly in the database."""
    from app.db import make_engine, make_sessionmaker
    from incidents.staff import create_staff

    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        token = create_staff(session, name=f"bench-{role}-{uuid.uuid4().hex[:6]}", role=role).token
    engine.dispose()
    return token
