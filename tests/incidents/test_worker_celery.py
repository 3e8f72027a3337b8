"""Real Celery workers on Redis drain a thousand queued freezes: none twice, none left behind (PostgreSQL)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.jobs import CELERY_TASK, celery_app
from incidents.audit import seal_all, verify_chain
from exchange_sim.models import BackofficeAccount, BackofficeRequest
from incidents.intake import ReportInput, submit_report
from incidents.models import AuditEvent, ExchangeCommand
from tests import services
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
FREEZES = 1000
WORKERS = 2

pytestmark = [pytest.mark.postgresql, pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def pg_app(postgres_database, instance, monkeypatch):
    """An application over an emptied PostgreSQL database."""
    services.require("redis")
    services.empty_database(postgres_database)
    monkeypatch.setenv("LOCKDESK_INSTANCE_PATH", str(instance))
    application = create_app(make_settings(services.postgres_url(postgres_database), instance))
    yield application
    application.extensions["lockdesk"].engine.dispose()


def queue_freezes(session) -> None:
    """A thousand accounts at the exchange, each reported stolen (freeze and follow-ups queued, not sent)."""
    session.add_all(BackofficeAccount(id=f"C{index:04d}", email=f"c{index}@example.com", phone="+15550001",
                                      totp_secret="JBSWY3DPEHPK3PXP") for index in range(FREEZES))
    session.commit()
    for index in range(FREEZES):
        submit_report(session, report=ReportInput(account_id=f"C{index:04d}", kind="stolen_account"))


def celery_worker(app, queue: str, broker: str, index: int, instance: Path, log: Path) -> subprocess.Popen:
    """`celery -A app.jobs worker` consuming only this test's queue."""
    config = app.config
    env = {**os.environ, "CELERY_BROKER_URL": broker, "CELERY_QUEUE": queue, "WORKER_ENABLED": "0",
           "PYTHONPATH": str(ROOT), "LOCKDESK_INSTANCE_PATH": str(instance)}
    env.update({name: str(config[name]) for name in ("DATABASE_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY",
                                                     "ANOMALY_WEBHOOK_SECRET", "EXCHANGE_ADAPTER")})
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app.jobs", "worker", "-Q", queue, "--pool", "threads",
             "-c", "2", "-n", f"lockdesk-test-{index}-{queue}@%h", "--without-mingle", "--without-gossip",
             "--without-heartbeat", "--loglevel", "WARNING"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT)


def unfinished(session) -> int:
    """Commands not yet done or failed."""
    count = session.scalar(select(func.count()).select_from(ExchangeCommand)
                           .where(ExchangeCommand.status.in_(("pending", "in_flight"))))
    session.rollback()
    return count


def test_celery_workers_drain_a_thousand_freezes_each_once(pg_app, instance, tmp_path):
    sessions = pg_app.extensions["lockdesk"].sessions
    with sessions() as session:
        queue_freezes(session)
    queue = f"lockdesk-test-{uuid.uuid4().hex[:8]}"
    broker = services.REDIS_URL
    celery_app.conf.update(broker_url=broker)
    log = tmp_path / "celery.log"
    workers = [celery_worker(pg_app, queue, broker, index, instance, log) for index in range(WORKERS)]
    try:
        for _ in range(WORKERS * 2):
            celery_app.send_task(CELERY_TASK, queue=queue)
        with sessions() as session:
            deadline = time.monotonic() + 600
            while unfinished(session) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert unfinished(session) == 0, log.read_text()[-3000:]
            assert_each_freeze_happened_once(session)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
        import redis

        redis.Redis.from_url(broker).delete(queue)


def assert_each_freeze_happened_once(session) -> None:
    """One freeze per account at the exchange, one key each, one frozen transition each, chain intact."""
    by_status = select(ExchangeCommand.status, func.count()).group_by(ExchangeCommand.status)
    statuses = dict(session.execute(by_status).all())
    assert statuses == {"done": FREEZES * 2}  # each freeze and its `contain` follow-up
    assert session.scalar(select(func.count()).select_from(BackofficeAccount).where(BackofficeAccount.freezes == 1)) \
        == FREEZES
    assert session.scalar(select(func.count()).select_from(BackofficeRequest)
                          .where(BackofficeRequest.operation == "freeze")) == FREEZES
    assert session.scalar(select(func.count()).select_from(BackofficeRequest)
                          .where(BackofficeRequest.replays > 0)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "incident.containment.frozen")) == FREEZES
    assert session.scalar(select(func.max(ExchangeCommand.attempts))) == 1
    seal_all(session)
    assert verify_chain(session).valid
