"""What the outbox's fault tests share: a wave of flagged accounts, the commands' statuses, `flask worker` in a
process of its own, and a bounded wait."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from app.db import utcnow
from incidents.anomalies import AnomalyInput, ScoringPolicy
from incidents.anomaly_batch import ingest_batch
from incidents.models import ExchangeCommand

ROOT = Path(__file__).resolve().parents[2]


def flag(session, accounts: list[str]) -> None:
    """Each account flagged by one event that crosses the freeze threshold alone (freeze and `contain` queued)."""
    policy = ScoringPolicy(weights={"sim_swap": 100})
    for start in range(0, len(accounts), 1000):
        ingest_batch(session, events=[AnomalyInput(event_id=f"e-{a}", account_id=a, type="sim_swap",
                                                   occurred_at=utcnow()) for a in accounts[start:start + 1000]],
                     policy=policy)


def statuses(session, action: str) -> dict[str, int]:
    """How many commands of an action are in each status now."""
    session.rollback()
    rows = session.execute(select(ExchangeCommand.status, func.count()).where(ExchangeCommand.action == action)
                           .group_by(ExchangeCommand.status)).all()
    session.rollback()
    return dict(rows)


def worker_process(settings: dict, instance: Path, log: Path) -> subprocess.Popen:
    """`flask worker` in a process of its own, configured like the test application."""
    env = {**os.environ, "LOCKDESK_INSTANCE_PATH": str(instance), "WORKER_ENABLED": "0",
           "DISPATCH_LEASE_SECONDS": "2", "WORKER_POLL_SECONDS": "0.1", "PYTHONPATH": str(ROOT)}
    env.update({name: str(settings[name]) for name in (
        "DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ANOMALY_WEBHOOK_SECRET", "EXCHANGE_ADAPTER",
        "EXCHANGE_API_BASE", "EXCHANGE_API_KEY", "EXCHANGE_API_SECRET", "EXCHANGE_MAX_ATTEMPTS")})
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def wait_until(condition, *, seconds: float = 60.0) -> bool:
    """Poll until the condition holds (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
