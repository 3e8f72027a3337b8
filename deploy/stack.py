"""`make stack`: the production topology on this machine, every Lockdesk process with LOCKDESK_ENV=production.

PostgreSQL and Redis are this machine's. The stack migrates the database (`flask db upgrade`, its own
step as in compose.yaml), then starts gunicorn (gthread), two Celery workers, Celery beat, the exchange
simulator over its signed HTTP API as the exchange (on a database of its own: it stands for the
exchange, not for Lockdesk, so it runs in development mode), and local stand-ins for the SMTP server and
the SMS vendor (deploy/vendors.py). Ctrl-C (SIGINT) or SIGTERM stops them in order and waits for each.

Secrets are made once into <folder>/secrets.env, as an operator's secret store would hold them, and
every variable the processes get is written to <folder>/stack.env (`set -a; . <folder>/stack.env` before
`flask --app app staff create …`).
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from app.secrets import GENERATORS

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXCHANGE_KEY = "stack-exchange-key"
TWILIO_SID = "AC" + "5" * 32
# Settings a caller may tune from its own environment; everything else is the stack's.
TUNABLE = ("FREEZE_WAIT_MS", "DISPATCH_LEASE_SECONDS", "SLA_HOURS", "LOG_LEVEL", "WORKER_POLL_SECONDS",
           "EXCHANGE_READ_TIMEOUT", "REPORT_RATE_LIMIT", "REPORT_ACCOUNT_RATE_LIMIT")
DEMO_ACCOUNTS = ("U1001", "U2002")
STARTUP_SECONDS = 90


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_database(name: str, *, host: str, user: str) -> str:
    """Create the PostgreSQL database if it is missing; its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(f"host={host} user={user} dbname=postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{user}@{host}:5432/{name}"


def stored_secrets(folder: Path) -> dict[str, str]:
    """The stack's secrets, generated on the first start and kept in <folder>/secrets.env (0600)."""
    path = folder / "secrets.env"
    if not path.exists():
        # Lockdesk's own secrets made as the application would make them, and the two of the stack's vendors.
        values = {**{name: make() for name, make in GENERATORS.items()},
                  "EXCHANGE_API_SECRET": secrets.token_urlsafe(32), "TWILIO_AUTH_TOKEN": secrets.token_urlsafe(24)}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.writelines(f"{name}={value}\n" for name, value in values.items())
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


@dataclass
class Child:
    """One process of the stack, in a session of its own (Ctrl-C reaches only the stack, which stops it)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    restart: bool = False  # a Celery worker that dies is started again, as a supervisor or compose would
    popen: subprocess.Popen | None = None

    def start(self) -> Child:
        """Start it with its output in its log file."""
        with self.log.open("ab") as handle:
            self.popen = subprocess.Popen(self.argv, cwd=REPO, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                                          start_new_session=True)
        return self

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (SIGKILL after `timeout` s); its exit status."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def said(self, text: str) -> bool:
        """Whether its log holds this text anywhere (a busy log soon scrolls a start-up line out of any tail)."""
        return self.log.exists() and text in self.log.read_text(errors="replace")

    def tail(self) -> str:
        """The end of its log."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Stack:
    """The processes, their shared environment and how to wait for them."""

    folder: Path
    port: int
    database: str
    redis_url: str
    queue: str
    web_workers: int = 2
    children: list[Child] = field(default_factory=list)

    def environment(self, exchange_url: str, smtp_port: int, sms_port: int) -> dict[str, str]:
        """What every Lockdesk process of the stack is given."""
        keys = stored_secrets(self.folder)
        stack = {
            "LOCKDESK_ENV": "production", "DATABASE_URL": ensure_database(self.database, host="127.0.0.1",
                                                                            user="postgres"),
            **{name: keys[name] for name in GENERATORS},
            "EXCHANGE_ADAPTER": "http", "EXCHANGE_API_BASE": exchange_url, "EXCHANGE_API_KEY": EXCHANGE_KEY,
            "EXCHANGE_API_SECRET": keys["EXCHANGE_API_SECRET"],
            "SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": keys["TWILIO_AUTH_TOKEN"],
            "TWILIO_FROM": "+15005550006", "TWILIO_API_BASE": f"http://127.0.0.1:{sms_port}",
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "RATELIMIT_STORAGE_URI": self.redis_url,
            "CELERY_BROKER_URL": self.redis_url, "CELERY_QUEUE": self.queue, "WORKER_ENABLED": "0",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{self.port}",
            "LOCKDESK_INSTANCE_PATH": str(self.folder / "instance"), "PYTHONPATH": str(REPO),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # deploy.run finds gunicorn and celery here
        }
        base = {key: value for key, value in os.environ.items()
                if not key.startswith(("LOCKDESK_", "EXCHANGE_", "TWILIO_", "SMTP_", "SMS_", "CELERY_"))}
        return {**base, **stack, **{key: os.environ[key] for key in TUNABLE if key in os.environ}}

    def run_step(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        """A command that must finish before the services start (migrations, seeding)."""
        log = self.folder / f"{name}.log"
        with log.open("ab") as handle:
            done = subprocess.run(argv, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{name} failed ({done.returncode}):\n{log.read_text(errors='replace')[-3000:]}")

    def spawn(self, name: str, argv: list[str], env: dict[str, str], *, restart: bool = False) -> Child:
        """Start a long-running part."""
        child = Child(name, argv, env, self.folder / f"{name}.log", restart=restart).start()
        self.children.append(child)
        return child

    def wait_until(self, what: str, ready, child: Child) -> None:
        """Poll `ready()` until true; stop with the child's log if it died or never got there."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if not child.alive():
                raise SystemExit(f"{child.name} exited while starting:\n{child.tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise SystemExit(f"{what} not ready after {STARTUP_SECONDS} s:\n{child.tail()}")

    def stop(self) -> None:
        """Stop every part, the last started first."""
        for child in reversed(self.children):
            child.stop()


def answers(url: str, statuses: tuple[int, ...]) -> bool:
    """Whether the URL answers with one of the statuses now."""
    try:
        return requests.get(url, timeout=2).status_code in statuses
    except requests.RequestException:
        return False


def start(stack: Stack) -> dict[str, str]:
    """Migrate, then start every part and wait until each is ready; the Lockdesk environment."""
    stack.folder.mkdir(parents=True, exist_ok=True)
    flask, run = [str(BIN / "flask"), "--app", "app"], [sys.executable, "-m", "deploy.run"]
    exchange_port, smtp_port, sms_port = free_port(), free_port(), free_port()
    env = stack.environment(f"http://127.0.0.1:{exchange_port}", smtp_port, sms_port)
    exchange_env = {**env, "LOCKDESK_ENV": "development", "DATABASE_URL": ensure_database(
        f"{stack.database}_exchange", host="127.0.0.1", user="postgres"), "EXCHANGE_ADAPTER": "local"}
    (stack.folder / "stack.env").write_text("".join(f"{key}={env[key]}\n" for key in sorted(env) if key not in os.environ
                                                    or os.environ[key] != env[key]))
    stack.run_step("migrate", [*run, "migrate"], env)
    stack.run_step("exchange-migrate", [*flask, "db", "upgrade"], exchange_env)
    vendors = stack.spawn("vendors", [sys.executable, "-m", "deploy.vendors", "--smtp-port", str(smtp_port),
                                      "--sms-port", str(sms_port), "--account-sid", TWILIO_SID,
                                      "--folder", str(stack.folder)], env)
    exchange = stack.spawn("exchange", [*flask, "exchange", "serve", "--port", str(exchange_port), "--threads", "16"],
                           exchange_env)
    stack.wait_until("the exchange", lambda: answers(f"http://127.0.0.1:{exchange_port}/v1/accounts/none", (401,)),
                     exchange)
    stack.wait_until("the vendors", lambda: vendors.said("vendors:"), vendors)
    for account in DEMO_ACCOUNTS:
        open_account(exchange_env, account)
    web = stack.spawn("web", [*run, "web"], {**env, "BIND": f"127.0.0.1:{stack.port}",
                                             "WEB_CONCURRENCY": str(stack.web_workers),
                                             "PROMETHEUS_MULTIPROC_DIR": str(metrics_folder(stack.folder))})
    workers = [stack.spawn(f"celery-worker-{n}", [*run, "celery-worker", "-n", f"lockdesk{n}@%h"], env, restart=True)
               for n in (1, 2)]
    beat = stack.spawn("celery-beat", [*run, "celery-beat"],
                       {**env, "CELERY_BEAT_SCHEDULE": str(stack.folder / "beat-schedule")})
    stack.wait_until("gunicorn", lambda: answers(f"http://127.0.0.1:{stack.port}/readyz", (200,)), web)
    for worker in workers:
        stack.wait_until(worker.name, lambda w=worker: w.said(" ready."), worker)
    stack.wait_until("beat", lambda: beat.said("beat: Starting"), beat)
    return env


def metrics_folder(folder: Path) -> Path:
    """An empty folder for gunicorn's multiprocess metrics (emptied on each start)."""
    path = folder / "metrics"
    path.mkdir(exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    return path


def open_account(exchange_env: dict[str, str], account: str) -> None:
    """Open a demo account at the exchange (an existing one is left as it is)."""
    subprocess.run([str(BIN / "flask"), "--app", "app", "exchange", "add-account", "--id", account,
                    "--email", f"{account.lower()}@example.com", "--phone", "+15555550100",
                    "--totp-secret", "JBSWY3DPEHPK3PXP", "--anti-phishing-code", "STACK"],
                   cwd=REPO, env=exchange_env, capture_output=True, check=False)


def watch(stack: Stack) -> None:
    """Start a dead Celery worker again; any other part dying ends the stack."""
    for child in stack.children:
        if child.alive():
            continue
        if not child.restart:
            raise SystemExit(f"{child.name} exited ({child.popen.returncode}):\n{child.tail()}")
        print(f"{child.name} exited ({child.popen.returncode}); starting it again", flush=True)
        child.start()


def main() -> None:
    """Start the stack and keep it up until Ctrl-C or SIGTERM; then stop it cleanly (exit 0)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--folder", type=Path, default=REPO / "instance" / "stack")
    parser.add_argument("--database", default="lockdesk_stack")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--queue", default="lockdesk-stack")
    args = parser.parse_args()
    stack = Stack(folder=args.folder.resolve(), port=args.port, database=args.database, redis_url=args.redis_url,
                  queue=args.queue)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        start(stack)
        print(f"stack ready: http://127.0.0.1:{args.port}/ (logs and stack.env in {stack.folder}); Ctrl-C stops it",
              flush=True)
        while not stopping.wait(1.0):
            watch(stack)
    finally:
        stack.stop()
        print("stack stopped", flush=True)


if __name__ == "__main__":
    main()
