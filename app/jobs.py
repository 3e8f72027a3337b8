"""Background work's glue: the in-process worker thread, `flask worker`, and the Celery app on Redis.

The Dispatcher itself is the outbox's (incidents.outbox.dispatcher); the thread, `flask worker` and
Celery tasks all just ask it to claim due commands and run them.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from celery import Celery
from flask import Flask
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker

from app.config import setting
from app.heap import freeze_startup_objects
from app.observability import incident_context
from app.ports import Ports
from incidents.outbox.dispatcher import Dispatcher
from incidents.outbox.exchange import Outcome
from incidents.outbox.lease import DispatchPolicy

log = logging.getLogger("lockdesk.jobs")

COMMANDS = Counter("lockdesk_exchange_commands_total", "Exchange commands run, by action and outcome",
                   ["action", "outcome"])
REPORT_TO_FROZEN = Histogram("lockdesk_report_to_frozen_seconds", "Time from the freeze request to the "
                             "exchange's confirmation", buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10,
                                                                 30, 60, 300, 900, 3600))
CELERY_TASK = "lockdesk.dispatch_due"
# Ports holding a callable the worker runs once per tick (each returns how much work it did).
CELERY_PERIODIC_TASK = "lockdesk.run_periodic"


def observe_outcome(outcome: Outcome) -> None:
    """Count a recorded command, and the report-to-frozen latency of a confirmed freeze."""
    COMMANDS.labels(outcome.action, outcome.outcome).inc()
    if outcome.frozen_after_seconds is not None:
        REPORT_TO_FROZEN.observe(outcome.frozen_after_seconds)


def run_jobs(jobs: list[Callable[[], int]]) -> int:
    """Run each periodic job in turn; one that fails is logged by name and the others still run. The work done."""
    total = 0
    for job in jobs:
        try:
            total += job()
        except Exception:
            log.exception("periodic job %s failed", job_name(job))
    return total


def job_name(job: Callable[[], int]) -> str:
    """A periodic job's name for the log: its function's or its class's."""
    return getattr(job, "__qualname__", None) or type(job).__qualname__


class Worker:
    """The polling loop: run due commands every `poll_seconds`, or at once when woken."""

    def __init__(self, dispatcher: Dispatcher, *, poll_seconds: float = 0.5):
        self.dispatcher = dispatcher
        self.poll_seconds = poll_seconds
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heartbeat = time.monotonic()
        # Other periodic work of the case (SLA sweep, due unfreezes, notifications, webhooks), one call per tick.
        self.periodic: list[Callable[[], int]] = []
        self._idle_until: dict[Callable[[], int], float] = {}  # when a job that found nothing is due again
        dispatcher.on_wake(self.wake)

    def wake(self) -> None:
        """Look for due work now instead of at the next poll (every periodic job included)."""
        self._idle_until.clear()
        self._wakeup.set()

    def is_alive(self) -> bool:
        """The loop is running and has beaten recently (readyz)."""
        running = self._thread is None or self._thread.is_alive()
        return running and not self._stop.is_set() and time.monotonic() - self._heartbeat < self._stale_after()

    def start(self) -> Worker:
        """Run the loop in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="lockdesk-worker", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Ask the loop to finish its batch and end."""
        self._stop.set()
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def run(self) -> None:
        """Loop until stopped: run what is due, sleep until the next poll or a wake-up."""
        while not self._stop.is_set():
            self._heartbeat = time.monotonic()
            if self._tick() == 0:
                self._wakeup.wait(self.poll_seconds)
                self._wakeup.clear()

    def _tick(self) -> int:
        """One batch, then each periodic job that is due; errors are logged and the loop goes on."""
        try:
            done = self.dispatcher.dispatch_due()
        except Exception:
            log.exception("worker batch failed")
            done = 0
        return done + self._run_periodic()

    def _run_periodic(self) -> int:
        """Each periodic job that is due: one that found work runs again at the next tick, one that found none only
        after a poll interval (or a wake-up), so a busy loop does not pay every idle job's queries at each tick."""
        now, total = time.monotonic(), 0
        for job in self.periodic:
            if self._idle_until.get(job, 0.0) > now:
                continue
            done = run_jobs([job])
            self._idle_until[job] = now + self.poll_seconds if done == 0 else 0.0
            total += done
        return total

    def _stale_after(self) -> float:
        """How long without a beat means the loop is stuck: past a lease, with room."""
        return max(30.0, self.dispatcher.policy.lease_seconds * 2)


def dispatch_policy(config) -> DispatchPolicy:
    """The outbox policy from the settings."""
    return DispatchPolicy(
        lease_seconds=setting(config, "DISPATCH_LEASE_SECONDS", 60.0),
        backoff_base_seconds=setting(config, "DISPATCH_BACKOFF_BASE_SECONDS", 0.5),
        backoff_cap_seconds=setting(config, "DISPATCH_BACKOFF_CAP_SECONDS", 300.0),
        batch_size=setting(config, "DISPATCH_BATCH_SIZE", 50),
        freeze_batch_size=setting(config, "DISPATCH_FREEZE_BATCH_SIZE", 500))


def build_worker(app: Flask) -> Worker:
    """A worker loop over this application's dispatcher."""
    ports = app.extensions["lockdesk"].ports
    worker = Worker(ports.dispatcher, poll_seconds=setting(app.config, "WORKER_POLL_SECONDS", 0.5))
    worker.periodic = ports.periodic_jobs()
    return worker


def run_worker(app: Flask) -> None:
    """Run the worker loop in this thread until SIGTERM or SIGINT (`flask worker`)."""
    ports = app.extensions["lockdesk"].ports
    background, ports.worker = ports.worker, None
    if background is not None:
        background.stop()  # this process is the worker now: one loop, in the foreground
    worker = build_worker(app)
    app.extensions["lockdesk"].ports.worker = worker
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: worker.stop(timeout=0))
    freeze_startup_objects()
    log.info("worker %s started", worker.dispatcher.name)
    worker.run()


celery_app = Celery("lockdesk")


@celery_app.on_configure.connect
def _configure_celery(sender: Celery, **_kwargs) -> None:
    """Celery reads its broker and queue from the environment when it first needs them."""
    sender.conf.update(
        broker_url=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
        task_default_queue=celery_queue(), task_ignore_result=True, worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True, broker_connection_timeout=2,
        beat_schedule={"dispatch-due": {"task": CELERY_TASK, "schedule": 1.0},
                       "periodic": {"task": CELERY_PERIODIC_TASK, "schedule": 5.0}})


def celery_queue() -> str:
    """The queue our tasks go to (CELERY_QUEUE, default `lockdesk`)."""
    return os.environ.get("CELERY_QUEUE", "lockdesk")


_celery_state: dict[str, Flask] = {}
_celery_lock = threading.Lock()


def _celery_ports() -> Ports:
    """This Celery worker process's ports, over an application built once on first use."""
    with _celery_lock:
        if "app" not in _celery_state:
            from app import create_app

            _celery_state["app"] = create_app({"WORKER_ENABLED": False})
            freeze_startup_objects()
        return _celery_state["app"].extensions["lockdesk"].ports


def _celery_dispatcher() -> Dispatcher:
    """This Celery worker process's dispatcher."""
    return _celery_ports().dispatcher


@celery_app.task(name=CELERY_PERIODIC_TASK, ignore_result=True)
def run_periodic_task() -> int:
    """The periodic jobs (review, SLA, notifications, traces, housekeeping), run by beat on any worker."""
    ports = _celery_ports()
    return run_jobs(ports.periodic_jobs())


@celery_app.task(name=CELERY_TASK, ignore_result=True)
def dispatch_due_task(rounds: int = 20) -> int:
    """Claim and run due commands for a while; send itself again if work is left (periodic sweeps via beat)."""
    dispatcher = _celery_dispatcher()
    total = 0
    for _ in range(rounds):
        claimed = dispatcher.dispatch_due()
        total += claimed
        if claimed == 0:
            return total
    dispatch_due_task.apply_async(queue=celery_queue())
    return total


def send_dispatch_task() -> None:
    """Ask the Celery workers to sweep the outbox now."""
    celery_app.send_task(CELERY_TASK, queue=celery_queue(), retry=False)


def init_app(app: Flask) -> None:
    """Put the dispatcher in the ports; start the worker thread when enabled outside tests."""
    runtime = app.extensions["lockdesk"]
    dispatcher = Dispatcher(runtime.sessions, runtime.ports.exchange, policy=dispatch_policy(app.config),
                            concurrency=setting(app.config, "WORKER_CONCURRENCY", 8), observe=observe_outcome,
                            context=incident_context)
    runtime.ports.dispatcher = dispatcher
    if app.config.get("CELERY_BROKER_URL"):
        celery_app.conf.update(broker_url=app.config["CELERY_BROKER_URL"])
        dispatcher.on_wake(lambda: dispatcher.in_background(send_dispatch_task))
    runtime.ports.housekeeping = Housekeeping(runtime.sessions)
    runtime.ports.audit_sealer = AuditSealer(runtime.sessions)
    if app.config.get("WORKER_ENABLED") and not app.config.get("TESTING"):
        # Started by the first request, so command-line runs (migrations, seeding) start no worker.
        app.before_request(lambda: start_worker_once(app))


_start_lock = threading.Lock()


def start_worker_once(app: Flask) -> None:
    """Start this process's worker thread if it has none yet."""
    ports = app.extensions["lockdesk"].ports
    if ports.worker is not None:
        return
    with _start_lock:
        if ports.worker is None:
            ports.worker = build_worker(app).start()


class AuditSealer:
    """Links the audit events committed since the last tick into the chain."""

    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def __call__(self) -> int:
        """Seal one batch; the number sealed (0 when another process is sealing)."""
        from incidents.audit import seal

        return _in_session(self.sessions, seal, failure="sealing the audit chain failed")


class Housekeeping:
    """Drops idempotency answers past their 24 hours, at most every few minutes."""

    def __init__(self, sessions: sessionmaker[Session], *, every_seconds: float = 300.0):
        self.sessions, self.every_seconds = sessions, every_seconds
        self._last = float("-inf")

    def __call__(self) -> int:
        """Purge when due; the number of rows removed."""
        if time.monotonic() - self._last < self.every_seconds:
            return 0
        self._last = time.monotonic()
        from app.idempotency import purge_expired

        return _in_session(self.sessions, purge_expired, failure="housekeeping failed")


def _in_session(sessions: sessionmaker[Session], job: Callable[[Session], int], *, failure: str) -> int:
    """Run a periodic job in a session of its own; a failure is logged and counts as no work."""
    try:
        with sessions() as session:
            return job(session)
    except Exception:
        log.exception(failure)
        return 0
