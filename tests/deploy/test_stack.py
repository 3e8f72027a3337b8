"""`make stack` end to end: the production topology started as `python -m deploy.stack`, on this machine's
PostgreSQL and Redis, with every Lockdesk process in production mode.

FREEZE_WAIT_MS=0 makes the web leave every freeze to the Celery workers, so each freeze here went through
the broker; a 5 s dispatch lease lets a dead worker's claim pass to the other worker quickly.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from tests import services

pytestmark = [pytest.mark.slow, pytest.mark.postgresql, pytest.mark.redis, pytest.mark.xdist_group("stack")]
REPO = Path(__file__).resolve().parents[2]
PATIENCE = 90.0


class RunningStack:
    """The launcher process and what the tests need to reach its parts."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, services.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = f"lockdesk_e2e_{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "FREEZE_WAIT_MS": "0", "DISPATCH_LEASE_SECONDS": "5",
               "REPORT_RATE_LIMIT": "10000 per minute", "REPORT_ACCOUNT_RATE_LIMIT": "10000 per minute"}
        self.output, self.queue = folder / "stack.out", f"lockdesk-e2e-{uuid.uuid4().hex[:6]}"
        self.env: dict[str, str] = {}
        self.launcher: subprocess.Popen | None = None
        self._launch_env = env

    def start(self) -> None:
        """Launch `python -m deploy.stack` and wait until it says it is ready."""
        folder, env = self.folder, self._launch_env
        with self.output.open("wb") as handle:
            self.launcher = subprocess.Popen(
                [sys.executable, "-m", "deploy.stack", "--port", str(self.port), "--folder", str(folder),
                 "--database", self.database, "--queue", self.queue],
                cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        wait_for(lambda: "stack ready" in self.text() or self.launcher.poll() is not None, "the stack", 300)
        assert self.launcher.poll() is None, self.text()
        self.env = dict(line.split("=", 1) for line in (folder / "stack.env").read_text().splitlines())

    def text(self) -> str:
        """What the launcher printed."""
        return self.output.read_text(errors="replace")

    def sql(self, statement: str, *args, database: str | None = None) -> list[tuple]:
        """Rows of one statement on the stack's database (or the exchange's)."""
        dsn = services.admin_dsn(database or self.database)
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = connection.execute(statement, args)
            return cursor.fetchall() if cursor.description else []

    def open_account(self, account: str) -> None:
        """Open an account at the exchange the stack runs."""
        env = {**os.environ, **self.env, "LOCKDESK_ENV": "development", "EXCHANGE_ADAPTER": "local",
               "DATABASE_URL": services.postgres_url(f"{self.database}_exchange")}
        subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", "exchange", "add-account",
                        "--id", account, "--email", "owner@example.com", "--phone", "+15555550111",
                        "--totp-secret", "JBSWY3DPEHPK3PXP"], cwd=REPO, env=env, check=True, capture_output=True)

    def report(self, account: str) -> dict:
        """Report a stolen account through gunicorn."""
        answer = requests.post(f"{self.url}/api/v1/reports", timeout=30,
                               json={"account_id": account, "kind": "stolen_account", "description": "e2e"})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def containment(self, report: dict) -> str:
        """The incident's containment as its reporter reads it."""
        answer = requests.get(f"{self.url}/api/v1/incidents/{report['incident']['id']}", timeout=10,
                              headers={"Authorization": f"Bearer {report['access_token']}"})
        return answer.json()["containment"]

    def exchange_faults(self, **faults) -> None:
        """Change the exchange simulator's injected faults over its signed API."""
        from app.db import utcnow
        from incidents.exchange.signing import sign
        from incidents.exchange.wire import format_time

        body, stamp = json.dumps(faults).encode(), format_time(utcnow())
        signature = sign(self.env["EXCHANGE_API_SECRET"], timestamp=stamp, method="POST", path="/_faults", body=body)
        answer = requests.post(f"{self.env['EXCHANGE_API_BASE']}/_faults", data=body, timeout=10, headers={
            "X-Api-Key": self.env["EXCHANGE_API_KEY"], "X-Timestamp": stamp, "X-Signature": signature,
            "Content-Type": "application/json"})
        assert answer.ok, f"/_faults answered {answer.status_code} {answer.text}\n{self.log('exchange')}"

    def log(self, part: str) -> str:
        """The end of one part's log, for a failure's message."""
        path = self.folder / f"{part}.log"
        return f"--- {part}.log ---\n" + (path.read_text(errors="replace")[-3000:] if path.exists() else "(none)")

    def connections(self) -> list[tuple]:
        """The server connections to the stack's database: (pid, application, state)."""
        return self.sql("SELECT pid, application_name, state FROM pg_stat_activity WHERE datname = %s "
                        "AND pid <> pg_backend_pid()", self.database, database="postgres")

    def stop(self) -> int:
        """Ctrl-C the launcher and wait for it."""
        if self.launcher is None:
            return 0
        if self.launcher.poll() is None:
            self.launcher.send_signal(signal.SIGINT)
            self.launcher.wait(120)
        return self.launcher.returncode

    def drop(self) -> None:
        """Drop the stack's two databases."""
        for name in (self.database, f"{self.database}_exchange"):
            self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', database="postgres")


def wait_for(condition, what: str, seconds: float = PATIENCE) -> None:
    """Poll until the condition holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {seconds} s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    services.require("postgresql")
    services.require("redis")
    running = RunningStack(tmp_path_factory.mktemp("stack"))
    try:
        running.start()
        yield running
    finally:
        running.stop()
        running.drop()


def celery_freezes(stack: RunningStack) -> int:
    """Commands the Celery workers' dispatch tasks claimed, from their logs."""
    import re

    pattern = re.compile(r"Task lockdesk\.dispatch_due\[[^\]]+\] succeeded in [0-9.e-]+s: (\d+)")
    return sum(int(n) for path in stack.folder.glob("celery-worker-*.log") for n in pattern.findall(path.read_text()))


def test_a_report_is_frozen_by_a_celery_worker(stack):
    stack.open_account("E2E-1")
    report = stack.report("E2E-1")
    assert report["incident"]["containment"] == "freeze_pending"  # the web left it to the workers
    wait_for(lambda: stack.containment(report) == "frozen", "the freeze")
    # Celery logs a task's result after the task has returned, so after the freeze was committed
    wait_for(lambda: celery_freezes(stack) >= 1, "a Celery worker's log of the dispatch", 30)
    assert stack.sql("SELECT state, freezes FROM backoffice_accounts WHERE id = %s", "E2E-1",
                     database=f"{stack.database}_exchange") == [("frozen", 1)]


def test_the_sla_sweep_fires_from_beat(stack):
    stack.open_account("E2E-SLA")
    incident = stack.report("E2E-SLA")["incident"]["id"]
    stack.sql("UPDATE incidents SET sla_due_at = now() - interval '1 minute' WHERE id = %s", incident)
    wait_for(lambda: stack.sql("SELECT 1 FROM audit_events WHERE action = 'incident.sla_breached' "
                               "AND incident_id = %s", incident), "the SLA escalation")
    beat_log = (stack.folder / "celery-beat.log").read_text()
    assert "Sending due task periodic (lockdesk.run_periodic)" in beat_log


def test_a_worker_killed_mid_dispatch_loses_nothing_and_freezes_nothing_twice(stack):
    accounts = [f"E2E-K{n}" for n in range(6)]
    for account in accounts:
        stack.open_account(account)
    stack.exchange_faults(delay_seconds=4.0)  # every call to the exchange now takes 4 s
    reports = [stack.report(account) for account in accounts]
    holders: list[str] = []
    wait_for(lambda: holders.extend(row[0] for row in stack.sql(
        "SELECT claimed_by FROM exchange_commands WHERE action = 'freeze' AND status = 'in_flight' "
        "AND account_id LIKE 'E2E-K%%'")) or holders, "a claimed freeze")
    pid = int(holders[0].split(":")[1])
    os.kill(pid, signal.SIGKILL)  # the Celery worker holding it, in the middle of its call to the exchange
    stack.exchange_faults(delay_seconds=0.0)
    for report in reports:
        wait_for(lambda r=report: stack.containment(r) == "frozen", "every freeze after the kill")
    rows = stack.sql("SELECT id, state, freezes FROM backoffice_accounts WHERE id LIKE 'E2E-K%%' ORDER BY id",
                     database=f"{stack.database}_exchange")
    assert rows == [(account, "frozen", 1) for account in accounts]
    wait_for(lambda: "starting it again" in stack.text(), "the worker's restart")


def test_a_postgresql_connection_drop_is_survived(stack):
    # The processes' pools hold connections once they have served a report: make sure they do, then end them all.
    stack.open_account("E2E-PG0")
    first = stack.report("E2E-PG0")
    wait_for(lambda: stack.containment(first) == "frozen", "a freeze before the drop")
    wait_for(lambda: stack.connections(), "a pooled connection to the stack's database", 30)
    ended = stack.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", stack.database, database="postgres")
    assert ended[0][0] > 0, stack.connections()
    stack.open_account("E2E-PG")
    report = stack.report("E2E-PG")
    wait_for(lambda: stack.containment(report) == "frozen", "a freeze after the drop")
    assert requests.get(f"{stack.url}/readyz", timeout=10).status_code == 200


def test_ctrl_c_stops_every_part_cleanly(stack):
    lifetime = time.monotonic() - stack.started
    assert stack.stop() == 0, stack.text()
    assert "stack stopped" in stack.text()
    for part in (str(stack.folder), f"127.0.0.1:{stack.port}", stack.queue):  # beat, vendors; gunicorn; workers
        assert subprocess.run(["pgrep", "-f", part], capture_output=True, text=True).stdout.split() == []
    print(f"stack end-to-end: {lifetime:.1f} s from start to Ctrl-C")
