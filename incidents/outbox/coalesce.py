"""Freezes claimed by concurrent requests sent together: a burst of single reports becomes freeze batches.

Each report's freeze is claimed in the request and sent on the request's fast path. Here one sender per
process takes them in turn: a lone freeze goes at once as a single call; the freezes that arrive while a call
is at the exchange wait for it and then go together, up to 500 in one freeze batch (`calls.BATCH_CALLS`), so
a burst costs a call per batch instead of a call per report and adds no wait to a lone report.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

from incidents.exchange.port import MAX_FREEZE_BATCH
from incidents.outbox.calls import Claim

T = TypeVar("T")


class Coalescer(Generic[T]):
    """Runs the claims handed to it in batches, one batch at a time: `run(claims)` → a result per claim."""

    def __init__(self, run: Callable[[list[Claim]], list[T]], executor: Executor, *, limit: int = MAX_FREEZE_BATCH):
        self._run, self._executor, self._limit = run, executor, limit
        self._lock = threading.Lock()
        self._waiting: list[tuple[Claim, Future[T]]] = []
        self._sending = False

    def submit(self, claim: Claim) -> Future[T]:
        """The claim's result to come: sent with the next batch (at once when nothing is being sent)."""
        future: Future[T] = Future()
        with self._lock:
            self._waiting.append((claim, future))
            if self._sending:
                return future
            self._sending = True
        try:
            self._executor.submit(self._send_waiting)
        except Exception as error:  # shutting down: nothing will send them; their leases hand them to a worker
            self._fail_waiting(error)
        return future

    def _send_waiting(self) -> None:
        """Send what is waiting, batch after batch, until nothing is; on any exit nothing is left sending."""
        batch: list[tuple[Claim, Future[T]]] = []
        try:
            while True:
                with self._lock:
                    batch, self._waiting = self._waiting[:self._limit], self._waiting[self._limit:]
                    if not batch:
                        self._sending = False
                        return
                try:
                    results = self._run([claim for claim, _future in batch])
                    for (_claim, future), result in zip(batch, results, strict=True):
                        future.set_result(result)
                except Exception as error:  # the outcomes were not recorded: the claims' leases hand them on
                    _fail([future for _claim, future in batch if not future.done()], error)
        except BaseException as error:
            _fail([future for _claim, future in batch], error)
            self._fail_waiting(error)
            raise

    def _fail_waiting(self, error: BaseException) -> None:
        """Nothing is sending any more: fail every waiting claim with `error` and let the next submit send."""
        with self._lock:
            waiting, self._waiting, self._sending = self._waiting, [], False
        _fail([future for _claim, future in waiting], error)


def _fail(futures: list[Future], error: BaseException) -> None:
    """Fail the futures not yet resolved."""
    for future in futures:
        if not future.done():
            future.set_exception(error)
