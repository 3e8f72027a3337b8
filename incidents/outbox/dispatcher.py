"""The Dispatcher: runs exchange commands for one process, the request's fast path and the workers' batches.

The outbox row stays the source of truth: the request thread, `flask worker` and Celery tasks all
claim commands and run them, so any number of them on any number of hosts execute each command once
(claims are leased and token-checked, the exchange deduplicates by command id).
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import ContextManager

from sqlalchemy.orm import Session, sessionmaker

from incidents.exchange.port import ExchangePort
from incidents.outbox.calls import Claim, batches
from incidents.outbox.coalesce import Coalescer
from incidents.outbox.exchange import Outcome, claim_command, claim_due, execute
from incidents.outbox.freeze_batch import chunk_size
from incidents.outbox.lease import DispatchPolicy, Lease

log = logging.getLogger("lockdesk.jobs")


def worker_name() -> str:
    """A name for this worker in claims: host, process and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _no_context(_incident_id: uuid.UUID | None) -> ContextManager[None]:
    """No logging context."""
    return contextlib.nullcontext()


class Dispatcher:
    """Runs outbox commands for this process: the request fast path and the worker's batches.

    `observe` hears of every recorded outcome (metrics); `context` wraps each run (log lines naming its
    incident); both are given by the composition root.
    """

    def __init__(self, sessions: sessionmaker[Session], exchange: ExchangePort, *, policy: DispatchPolicy,
                 concurrency: int = 8, name: str | None = None,
                 observe: Callable[[Outcome], None] | None = None,
                 context: Callable[[uuid.UUID | None], ContextManager[None]] = _no_context):
        self.sessions, self.exchange, self.policy = sessions, exchange, policy
        self.name = name or worker_name()
        self._observe, self._context = observe, context
        self._urgent = ThreadPoolExecutor(max(concurrency, 2), thread_name_prefix="dispatch-now")
        self._batch = ThreadPoolExecutor(concurrency, thread_name_prefix="dispatch")
        self._wake_hooks: list[Callable[[], None]] = []
        self._freezes: Coalescer[Outcome] = Coalescer(self._run, self._urgent, limit=chunk_size(policy))

    @property
    def lease(self) -> Lease:
        """The lease this dispatcher claims under (intake writes its freeze already claimed with it)."""
        return Lease(self.name, self.policy)

    def on_wake(self, hook: Callable[[], None]) -> None:
        """Call `hook` whenever due work may be waiting (a worker to wake, a Celery task to send)."""
        self._wake_hooks.append(hook)

    def wake(self) -> None:
        """Tell the workers there may be due work now."""
        for hook in self._wake_hooks:
            try:
                hook()
            except Exception:  # a broker hiccup must not fail the request; the periodic sweep catches up
                log.exception("waking the workers failed")

    def in_background(self, call: Callable[[], object]) -> None:
        """Run a short call off the caller's thread (sending a Celery task from a request)."""
        self._urgent.submit(call)

    def dispatch_now(self, command_id: uuid.UUID, *, timeout: float) -> Outcome | None:
        """Claim and run one command, waiting at most `timeout` s; None if it is still running or held elsewhere."""
        with self.sessions() as session:
            claim = claim_command(session, command_id=command_id, worker=self.name, policy=self.policy)
        return self.run_claimed(claim, timeout=timeout)

    def run_claimed(self, claim: Claim | None, *, timeout: float) -> Outcome | None:
        """Run a command this dispatcher holds, waiting at most `timeout` s; None if it is still running or failed.

        Never raises: the caller's transaction has committed, so a failure to send or record (database down,
        executor shutting down) is logged and answered as pending; the claim's lease hands it to a worker.
        """
        try:
            if claim is None:
                return None
            try:
                if claim.action == "freeze":  # the freezes of concurrent requests go out together (`coalesce`)
                    future = self._freezes.submit(claim)
                else:
                    future = self._urgent.submit(lambda: self._run([claim])[0])
                return future.result(timeout=max(timeout, 0.0))
            except FutureTimeout:
                return None
            except Exception:
                log.exception("running command %s failed; its lease will hand it to a worker", claim.command_id)
                return None
        finally:
            self.wake()

    def send_claimed(self, claims: list[Claim]) -> None:
        """Send freezes this dispatcher holds (a batch webhook's, claimed when written) in the background, nothing
        waiting for them: each freeze batch (`chunk_size`) at once on the batch pool, so the batches of a wave
        are at the exchange and recorded side by side, the workers woken once each is recorded (their follow-ups
        wait while a freeze batch is in flight). Never raises: a claim that could not be handed over, or whose
        outcome was not recorded, is handed to a worker by its lease."""
        size = chunk_size(self.policy)
        try:
            for start in range(0, len(claims), size):
                self._batch.submit(self._run_then_wake, claims[start:start + size])
        except Exception:
            log.exception("handing %d claimed freezes to the senders failed; their leases will hand them to a worker",
                          len(claims))

    def dispatch_due(self, *, limit: int | None = None, now: datetime | None = None) -> int:
        """Claim one batch of due commands and run its send batches concurrently; the number claimed."""
        with self.sessions() as session:
            claims = claim_due(session, worker=self.name, policy=self.policy, limit=limit, now=now)
        for outcomes in self._batch.map(self._run_safely, batches(claims)):
            if outcomes is None:
                log.warning("a command's outcome was not recorded; its lease will expire and it will be retried")
        return len(claims)

    def drain(self, *, now: datetime | None = None, max_rounds: int = 1000) -> int:
        """Run batches until nothing is due (tests, `flask worker --once`); the number run."""
        total = 0
        for _ in range(max_rounds):
            claimed = self.dispatch_due(now=now)
            total += claimed
            if claimed == 0:
                break
        return total

    def shutdown(self) -> None:
        """Stop accepting work and wait for running calls."""
        self._urgent.shutdown(wait=True)
        self._batch.shutdown(wait=True)

    def _run(self, claims: list[Claim]) -> list[Outcome]:
        """Send a batch and record its outcomes (log lines name the first claim's incident)."""
        with self._context(claims[0].incident_id if len(claims) == 1 else None):
            outcomes = execute(self.sessions, self.exchange, claims, policy=self.policy)
        for outcome in outcomes:
            if self._observe is not None:
                self._observe(outcome)
        return outcomes

    def _run_then_wake(self, claims: list[Claim]) -> None:
        """Run a batch (`_run_safely`), then wake the workers: the follow-ups it held back may go now."""
        try:
            self._run_safely(claims)
        finally:
            self.wake()

    def _run_safely(self, claims: list[Claim]) -> list[Outcome] | None:
        """Run a batch; a failure to record (database down) leaves it to the lease."""
        try:
            return self._run(claims)
        except Exception:
            log.exception("recording the outcome of commands %s failed", [claim.command_id for claim in claims])
            return None
